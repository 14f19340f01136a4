"""Archive and retention: old raw chunks to verified Parquet (`parquet`), then drop what is past
its window (`retention`); the assets, job and nightly schedule around them."""
