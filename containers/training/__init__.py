"""The training image: TrainYOLO (``train``) and EvaluateYOLO (``evaluate``) entrypoints and their parts."""
