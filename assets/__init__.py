"""The Dagster asset graph (installed as curation_platform.assets). Thin: config in,
engine call, files out, metadata back."""
