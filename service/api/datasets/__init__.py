"""Datasets (申报数据集): imported budget requests, validated, stored as canonical JSON, reusable by id."""
