"""NumPy's `default_rng(parts)` streams, the same numbers, made cheaper for the synthetic market's many small draws.

Seeding a generator costs more than drawing a day's normals from it: `default_rng((seed, 4, key, day))` reads
the tuple word by word (~15 us), hashes it through a SeedSequence and seeds a PCG64 (~8 us more). For parts that
each fit in 32 bits, `stream` packs them into one int (the same words), and `normal_rows` does numpy's seeding
arithmetic for a whole pass of streams at once (SeedSequence's hash in uint32 arrays, then PCG64's 128-bit
seeding), setting one generator's state per row. tests/test_rebalance_400.py checks both against default_rng.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_WORD, _U128 = 2**32, 2**128
# SeedSequence's hash constants (numpy/random/bit_generator.pyx, after M. O'Neill's randutils), and PCG64's
# 128-bit multiplier (pcg64.h): the seeding below is numpy's, step by step.
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT = 0xCA01F9DD, 0x4973F715, np.uint32(16)
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_POOL = 4  # SeedSequence's pool: up to 4 words, missing ones hashed as zeros
_FEW = 16


def stream(*parts: int) -> np.random.Generator:
    """np.random.default_rng(parts): numpy reads an int as its 32-bit words from the lowest, so parts that each
    fit in a word are packed into one int. Zero words at the top drop out of the int, but the pool hashes
    missing words as zeros, so up to 4 parts the streams are the same."""
    if len(parts) > _POOL or not all(0 <= p < _WORD for p in parts):
        return np.random.default_rng(parts)
    return np.random.default_rng(sum(p << (32 * k) for k, p in enumerate(parts)))


def normal_rows(rows: Sequence[Sequence[int]], size: int) -> np.ndarray:
    """Row j: default_rng(rows[j]).standard_normal(size)."""
    out = np.empty((len(rows), size))
    if not rows:
        return out
    # A few rows are cheaper seeded one by one than through the arrays (~150 us of numpy calls a pass).
    if len(rows) < _FEW or any(len(r) > _POOL or not all(0 <= p < _WORD for p in r) for r in rows):
        for row, parts in zip(out, rows):
            stream(*parts).standard_normal(out=row)
        return out
    bits = np.random.PCG64(0)
    draw = np.random.Generator(bits)
    for row, (state, inc) in zip(out, _pcg64_seeds(rows)):
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0,
                      "uinteger": 0}
        draw.standard_normal(out=row)
    return out


def _pcg64_seeds(rows: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """PCG64(SeedSequence(row)) state and increment of every row: the hash in uint32 arrays, a column a word."""
    words = np.zeros((len(rows), _POOL), np.uint32)
    for j, parts in enumerate(rows):
        words[j, : len(parts)] = parts
    const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal const
        value = value ^ np.uint32(const)
        const = const * _MULT_A % _WORD
        value = value * np.uint32(const)
        return value ^ (value >> _XSHIFT)

    pool = [hashmix(words[:, k]) for k in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                mixed: np.ndarray = np.uint32(_MIX_L) * pool[dst] - np.uint32(_MIX_R) * hashmix(pool[src])
                pool[dst] = mixed ^ (mixed >> _XSHIFT)
    const, state = _INIT_B, []
    for k in range(8):  # generate_state(4, uint64): 8 words, low word first
        value = pool[k % _POOL] ^ np.uint32(const)
        const = const * _MULT_B % _WORD
        value = value * np.uint32(const)
        state.append((value ^ (value >> _XSHIFT)).astype(np.uint64))
    seed_hi, seed_lo, inc_hi, inc_lo = ((state[2 * k] | state[2 * k + 1] << np.uint64(32)).tolist() for k in range(4))
    out = []
    for s_hi, s_lo, i_hi, i_lo in zip(seed_hi, seed_lo, inc_hi, inc_lo):
        inc = ((i_hi << 64 | i_lo) << 1 | 1) % _U128  # pcg64_set_seed: two steps around adding the seed
        out.append((((inc + (s_hi << 64 | s_lo)) * _PCG_MULT + inc) % _U128, inc))
    return out
