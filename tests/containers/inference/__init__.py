"""Tests of the inference image: the model server over real HTTP, its request handling and its box math."""
