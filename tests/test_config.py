"""config: the options of training and classifying, validated once where they enter."""

from __future__ import annotations

import pytest

from hiercat.config import ClassifyConfig, TrainConfig, parse_token_dropout


def test_train_config_defaults_and_split_fractions() -> None:
    cfg = TrainConfig()
    assert (cfg.fusion, cfg.modalities, cfg.decode, cfg.labels) == ("early", "shops", "path", "path")
    assert cfg.split_fractions == (0.64, 0.16, 0.20) and cfg.members is None
    prod = TrainConfig(holdout=0.0)
    assert prod.split_fractions == (0.8, 0.2, 0.0)
    two = TrainConfig(token_dropout=[0.1, 0.4], modalities=["a", "b"])
    assert two.members == [{"token_dropout": 0.1}, {"token_dropout": 0.4}] and two.modalities == ("a", "b")
    assert two.to_dict()["token_dropout"] == [0.1, 0.4]


@pytest.mark.parametrize("kwargs, message", [
    ({"fusion": "middle"}, "fusion must be one of early, late, attention, got 'middle'"),
    ({"labels": "colour"}, "labels must be one of path, native_category"),
    ({"decode": "beam"}, "decode must be one of greedy, path"),
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"holdout": 1.0}, r"holdout must be in \[0, 1\)"),
    ({"token_dropout": (1.5,)}, "token_dropout must be in"),
])
def test_train_config_refuses_bad_options_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_classify_config_and_token_dropout_parsing() -> None:
    assert ClassifyConfig().knn_k == 10
    with pytest.raises(ValueError, match="k must be at least 1"):
        ClassifyConfig(knn_k=0)
    with pytest.raises(ValueError, match=r"knn_threshold must be in \[0, 1\]"):
        ClassifyConfig(knn_threshold=2)
    assert parse_token_dropout("0.1, 0.4") == (0.1, 0.4) and parse_token_dropout(None) == ()
    with pytest.raises(ValueError, match="--token-dropout takes numbers in"):
        parse_token_dropout("x")
