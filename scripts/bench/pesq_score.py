#!/usr/bin/env python3
"""Scores a degraded recording against its reference: wideband PESQ (ITU-T P.862.2, the `pesq`
package) and the delay between them (peak of the envelopes' cross-correlation). Both files are
16 kHz mono 16-bit WAV. Prints one JSON object."""

import json
import sys
import wave

import numpy as np
from pesq import pesq

RATE = 16000


def read(path):
    with wave.open(path) as w:
        if w.getframerate() != RATE or w.getnchannels() != 1:
            sys.exit(f"{path}: expected 16 kHz mono")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)


def delay_ms(ref, deg):
    """Lag of deg behind ref, from 1 ms energy envelopes."""
    hop = RATE // 1000
    env = lambda x: np.log1p(np.abs(x[: len(x) // hop * hop]).reshape(-1, hop).mean(axis=1))
    a, b = env(ref), env(deg)
    a, b = a - a.mean(), b - b.mean()
    n = len(a) + len(b)
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lags = np.concatenate([np.arange(0, len(b)), np.arange(-len(a), 0)])[: len(corr)]
    window = np.abs(lags) <= 2000
    return float(lags[window][np.argmax(corr[window])])


def main():
    ref, deg = read(sys.argv[1]), read(sys.argv[2])
    lag = delay_ms(ref, deg)
    # Align before scoring, so that PESQ judges the speech rather than a start-up offset.
    shift = int(max(lag, 0) * RATE / 1000)
    deg = deg[shift:]
    n = min(len(ref), len(deg))
    score = pesq(RATE, ref[:n], deg[:n], "wb")
    print(json.dumps({"pesq": score, "delay_ms": lag}))


if __name__ == "__main__":
    main()
