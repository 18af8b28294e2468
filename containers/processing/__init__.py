"""The processing image: PrepareData turns a raw detection dataset into validated YOLO train/val/test splits."""
