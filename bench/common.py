"""Small helpers the benchmarks share: timing, medians, percentiles, reports."""

import statistics
import time


def timed(call, *args, **kwargs) -> tuple[float, object]:
    """Seconds ``call`` took, and what it returned."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def timed_cpu(call, *args, **kwargs) -> tuple[float, float, object]:
    """Wall seconds, this process's CPU seconds, and what ``call`` returned.

    CPU time hardly moves when other work shares the machine; wall time does.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = call(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    """One aligned line: label, value, and the target with its verdict."""
    verdict = "" if ok is None else ("ok" if ok else "OVER")
    extra = f"(target {target}) {verdict}" if target else verdict
    print(f"  {label:<34} {value:>12}  {extra}".rstrip())


def ratio(label: str, value: float, base: float, limit: float | None = None) -> float:
    """Report ``value / base`` as a ratio against ``limit``; return it."""
    r = value / base
    report(label, f"{r:.2f}×", f"≤ {limit}×" if limit else "", (r <= limit) if limit else None)
    return r
