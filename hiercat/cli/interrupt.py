"""What Ctrl-C leaves behind, per command: the line `hiercat` prints when interrupted (exit status 130).

Each command keeps its work differently (ingest's batches are durable, a model or report is written
at the end), so "aborted" alone leaves a user guessing whether to start again from scratch.
"""

from __future__ import annotations

KEPT = {
    "ingest": ("the products stored so far are kept (every batch is durable)",
               "run the same command again: it resumes, skipping the unchanged products"),
    "train": ("nothing was saved: a model trained before stays as it was",
              "run `hiercat train` again (fewer --epochs, or --platforms, to make it shorter)"),
    "train-image-encoder": ("the last checkpoint saved after an epoch is kept at --out, if there was one",
                            "run it again with --init OUT to start from that checkpoint"),
    "classify": ("nothing was written: the predictions file is written when every row is classified",
                 "run the same command again"),
    "propose-mapping": ("nothing was written: the mapping is written when every product is classified",
                        "run the same command again"),
    "evaluate": ("nothing was written: the report is written when every model of the grid is trained",
                 "run it again; --platforms, --epochs or `evaluate --model` make it shorter"),
    "recluster": ("the store is unchanged: a proposal run writes its report and proposal.json at the end, and an "
                  "--apply is all or nothing (its changes are rolled back)",
                  "run the same command again"),
    "demo": ("the steps finished so far are kept in the demo's folder (ingest resumes)",
             "run `hiercat demo` again"),
}


def command_of(args: list[str]) -> str | None:
    """The subcommand named on a `hiercat` command line (the first word that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)


def interrupted(args: list[str]) -> tuple[str, str]:
    """(message, hint) for a command interrupted by Ctrl-C: what was kept and how to go on."""
    name = command_of(args)
    kept, how = KEPT.get(name or "", ("", ""))
    return (f"interrupted{f' ({name})' if name else ''}" + (f": {kept}" if kept else ""), how)
