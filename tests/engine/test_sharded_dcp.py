"""A DCP folder loaded sharded on 2 CPU ranks: each rank reads only the saved chunks its
FSDP2 shards overlap, and the gathered encoder equals the one-process full load bit for bit.

The bytes each rank must read come from the folder's own metadata (every saved chunk's row
offset and stored byte length): a folder saved by 2 ranks holds each tensor as two row
chunks, torch.chunk's split, so rank r reads exactly chunk r; a folder saved by one process
holds each tensor whole, which both ranks read (a one-row tensor only rank 0: rank 1's shard
of it is empty). The ``step`` entry is never read, nor the
empty chunk a one-row tensor is saved with.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "checkpoints"))
from ckpt_helpers import (  # noqa: E402
    ARCH,
    HF_OVERRIDES,
    OVERRIDES,
    SPEC,
    free_port,
    save_sharded_dcp,
    timm_vit,
)

from rsbench.checkpoints import load_backbone  # noqa: E402
from rsbench.checkpoints.dcp import read_metadata  # noqa: E402
from rsbench.checkpoints.rows import row_range  # noqa: E402


def chunk_bytes(folder: Path) -> dict[str, list[tuple[int, int, int]]]:
    """``model.*`` key -> ``(first row, rows, stored bytes)`` of each saved chunk."""
    meta = read_metadata(folder)
    out: dict[str, list[tuple[int, int, int]]] = {}
    for index, info in meta.storage_data.items():
        if index.fqn.startswith("model."):
            rows = meta.state_dict_metadata[index.fqn].size[0]
            chunk = next(c for c in meta.state_dict_metadata[index.fqn].chunks
                         if tuple(c.offsets) == tuple(index.offset))
            assert chunk.sizes[0] <= rows
            out.setdefault(index.fqn, []).append((index.offset[0], chunk.sizes[0], info.length))
    return out


def expected_bytes(folder: Path, rank: int) -> int:
    """Stored bytes of the chunks overlapping ``rank``'s dim-0 rows (of 2), over every tensor."""
    meta = read_metadata(folder)
    total = 0
    for key, chunks in chunk_bytes(folder).items():
        start, stop = row_range(meta.state_dict_metadata[key].size[0], 2, rank)
        total += sum(length for first, rows, length in chunks
                     if first < stop and start < first + rows)
    return total


def expected_hf_bytes(folder: Path, rank: int) -> int:
    """:func:`expected_bytes` for a Hugging Face ViT's folder: a query, key or value chunk is
    counted where its rows fall in the fused qkv (query first), which rank ``rank`` holds half
    of; the pooler, which no encoder tensor takes, is never read."""
    meta = read_metadata(folder)
    total = 0
    for key, chunks in chunk_bytes(folder).items():
        if ".pooler." in key:
            continue
        rows = meta.state_dict_metadata[key].size[0]
        part = next((i for i, name in enumerate(("query", "key", "value"))
                     if f".attention.{name}." in key), None)
        offset, fused = (part * rows, 3 * rows) if part is not None else (0, rows)
        start, stop = row_range(fused, 2, rank)
        total += sum(length for first, n, length in chunks
                     if offset + first < stop and start < offset + first + n)
    return total


def test_two_rank_dcp_load_reads_each_rank_its_chunks_and_equals_the_full_load(tmp_path):
    import torch.distributed.checkpoint as dcp

    mp.spawn(save_sharded_dcp, args=(str(tmp_path / "dcp2"), free_port(), 2), nprocs=2)
    mp.spawn(save_sharded_dcp, args=(str(tmp_path / "dcp2hf"), free_port(), 2, True), nprocs=2)
    dcp.save({"model": timm_vit().state_dict(), "step": 7}, checkpoint_id=str(tmp_path / "dcp1"),
             no_dist=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_sharded_dcp_worker.py"),
                           str(tmp_path), str(free_port())],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = torch.load(tmp_path / "sharded.pt", weights_only=False)

    saved2 = chunk_bytes(tmp_path / "dcp2")
    assert all(len(chunks) == 2 for chunks in saved2.values())
    # a one-row tensor (pos_embed, cls_token) is saved as its row and an empty chunk: unread
    model_bytes = sum(length for chunks in saved2.values() for _, rows, length in chunks if rows)
    for name in ("dcp2", "dcp2-bf16"):
        got = [r["bytes"] for r in result[name]["ranks"]]
        assert got == [expected_bytes(tmp_path / "dcp2", r) for r in (0, 1)], name
        assert sum(got) == model_bytes  # every saved chunk read once, by one rank
    whole1 = sum(length for chunks in chunk_bytes(tmp_path / "dcp1").values()
                 for _, _, length in chunks)
    got1 = [r["bytes"] for r in result["dcp1"]["ranks"]]
    assert got1 == [expected_bytes(tmp_path / "dcp1", r) for r in (0, 1)]
    assert got1[0] == whole1  # saved whole: rank 0 reads every tensor, rank 1 all but one-row ones

    # Hugging Face names: the load fuses query, key and value (64 rows each, saved as 2 chunks
    # of 32) into one qkv of 192 rows. Rank 0's 96 rows are query and key's first chunk, rank
    # 1's key's second chunk and value: each rank reads its 3 chunks and no other.
    hf = result.pop("dcp2hf")
    full = load_backbone(tmp_path / "dcp2hf", ARCH, SPEC, "cls", **OVERRIDES, **HF_OVERRIDES)
    assert hf["how"] == "dcp: each rank read the saved chunks its shards overlap"
    for key, value in full.model.state_dict().items():
        assert torch.equal(hf["state"][key], value), key
    assert [r["rows"]["blocks.0.attn.qkv.weight"] for r in hf["ranks"]] == [96, 96]
    saved = chunk_bytes(tmp_path / "dcp2hf")
    got = [r["bytes"] for r in hf["ranks"]]
    assert got == [expected_hf_bytes(tmp_path / "dcp2hf", r) for r in (0, 1)]
    assert sum(got) == sum(length for key, chunks in saved.items() if ".pooler." not in key
                           for _, rows, length in chunks if rows)  # each chunk once, by one rank

    for name, got in result.items():
        folder = tmp_path / name.split("-")[0]
        dtype = torch.bfloat16 if name.endswith("bf16") else None
        full = load_backbone(folder, ARCH, SPEC, "cls", dtype=dtype, **OVERRIDES)
        reference = full.model.state_dict()
        assert got["how"] == "dcp: each rank read the saved chunks its shards overlap"
        assert got["types"] == ["DTensor"]  # really sharded
        assert list(got["state"]) == list(reference)
        for key, value in reference.items():
            assert got["state"][key].dtype == value.dtype, (name, key)
            assert torch.equal(got["state"][key], value), (name, key)
            rows = value.shape[0]
            assert [r["rows"][key] for r in got["ranks"]] == [-(-rows // 2), rows - -(-rows // 2)]
