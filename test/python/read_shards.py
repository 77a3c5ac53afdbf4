"""Reads export shards back with the readers training code uses and prints what they saw, as JSON.

usage: read_shards.py webdataset|parquet|jsonl SHARD...
Each reader yields one entry per sample: its key, the sha256 of its image bytes (when it has them), its
metadata and text. Output: {"reader name": [entry, ...], ...}
"""
import gzip
import hashlib
import json
import os
import sys
import tempfile

IMAGE_EXTS = ("png", "jpg", "jpeg", "gif", "webp", "bmp", "tiff", "avif", "svg", "ico", "bin")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def series(files):
    """Shards of one series (e.g. images-png-00000.tar, images-png-00001.tar) share their schema: a
    dataset is loaded per series, as a user would."""
    groups = {}
    for f in files:
        name = os.path.basename(f)
        groups.setdefault(name[: name.rfind("-") + 1] if "-" in name else "", []).append(f)
    return [groups[k] for k in sorted(groups)]


def hf_load(builder, files):
    import datasets
    cache = tempfile.mkdtemp(prefix="hf-cache-")
    return datasets.load_dataset(builder, data_files={"train": files}, split="train", cache_dir=cache)


def hf_rows(builder, files):
    for group in series(files):
        yield from hf_load(builder, group)


def read_webdataset(files):
    import webdataset as wds
    out = {"webdataset": [], "hf_webdataset": []}
    for sample in wds.WebDataset(files, shardshuffle=False, empty_check=False):
        entry = {"key": sample["__key__"], "meta": json.loads(sample["json"])}
        for ext in IMAGE_EXTS:
            if ext in sample:
                entry["ext"] = ext
                entry["sha256"] = sha(sample[ext])
        if "txt" in sample:
            entry["txt"] = sample["txt"].decode("utf-8")
        out["webdataset"].append(entry)

    import datasets
    for group in series(files):
        ds = hf_load("webdataset", group)
        for name, feature in ds.features.items():
            if isinstance(feature, datasets.Image):
                ds = ds.cast_column(name, datasets.Image(decode=False))
        for row in ds:
            entry = {"key": row["__key__"], "meta": row["json"]}
            for ext in IMAGE_EXTS:
                if row.get(ext) is not None:
                    entry["ext"] = ext
                    entry["sha256"] = sha(row[ext]["bytes"])
            if row.get("txt") is not None:
                entry["txt"] = row["txt"]
            out["hf_webdataset"].append(entry)
    return out


def parquet_entry(row):
    entry = {"key": row["key"], "meta": json.loads(row["json"]),
             "columns": {k: v for k, v in row.items() if k not in ("image", "json")}}
    if row.get("image") is not None:
        entry["sha256"] = sha(row["image"])
    if row.get("text") is not None:
        entry["txt"] = row["text"]
    return entry


def read_parquet(files):
    import pyarrow.parquet as pq
    out = {"pyarrow": [], "hf_parquet": []}
    out["pyarrow_schema"] = []
    for f in files:
        table = pq.read_table(f)
        out["pyarrow_schema"].append({"file": os.path.basename(f), "columns": {field.name: str(field.type) for field in table.schema}})
        for row in table.to_pylist():
            out["pyarrow"].append(parquet_entry(row))
    for row in hf_rows("parquet", files):
        out["hf_parquet"].append(parquet_entry(row))
    return out


def read_jsonl(files):
    out = {"gzip_jsonl": [], "hf_json": []}
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                out["gzip_jsonl"].append({"key": rec["key"], "meta": rec, **({"txt": rec["text"]} if "text" in rec else {})})
    for rec in hf_rows("json", files):
        out["hf_json"].append({"key": rec["key"]})
    return out


def main():
    fmt, files = sys.argv[1], sorted(sys.argv[2:])
    reader = {"webdataset": read_webdataset, "parquet": read_parquet, "jsonl": read_jsonl}[fmt]
    json.dump(reader(files), sys.stdout)


if __name__ == "__main__":
    main()
