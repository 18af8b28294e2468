"""Tests of the processing image (PrepareData) and of the synthetic sample data it is fed in the tests."""
