"""Hierarchical neural classifier over product modalities (dense sentence/image vectors, hashed lexical bags)."""

from .decode import Decoded, greedy_decode, path_decode, path_index_matrix
from .ensemble import ClassifierModel, EnsembleClassifier
from .fusion import FUSIONS, AttentionFusion, EarlyFusion, LateFusion, build_fusion
from .hierarchy import HierarchicalClassifier
from .inputs import CSRArrays, ModalityBatch, ModalityInputs, ModalitySpec, SparseBag, inputs_from_stored
from .io import ModelFormatError, ModelMismatchError, load_model, read_sidecar, save_model
from .predict import PathScores, Predictions, predict, predict_path_scores
from .train import TrainHistory, stratified_split, train_classifier

__all__ = [
    "AttentionFusion", "CSRArrays", "ClassifierModel", "Decoded", "EarlyFusion", "EnsembleClassifier", "FUSIONS",
    "HierarchicalClassifier", "LateFusion", "ModalityBatch", "ModalityInputs", "ModalitySpec", "ModelFormatError", "ModelMismatchError",
    "PathScores", "Predictions", "SparseBag", "TrainHistory", "build_fusion", "greedy_decode", "inputs_from_stored", "load_model",
    "path_decode", "path_index_matrix", "predict", "predict_path_scores", "read_sidecar", "save_model", "stratified_split",
    "train_classifier",
]
