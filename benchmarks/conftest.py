"""Print each pricing benchmark's throughput and its ratio to the numpy twin of the same kernel,
measured in the same session (machines here are shared and noisy: ratios travel, seconds don't)."""

_RATES = {}
_SUMMARIES = []   # one-line same-run ratios left in extra_info["summary"] by any benchmark


def pytest_runtest_teardown(item):
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    info = getattr(fixture, "extra_info", None) or {}
    if "key" in info:
        _RATES[info["key"]] = info["M valuations/s"]
    if "summary" in info:
        _SUMMARIES.append(info["summary"])


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    if _SUMMARIES:
        tr.section("same-run ratios")
        for line in _SUMMARIES:
            tr.write_line(line)
    if not _RATES:
        return
    tr.section("pricing throughput (median, M valuations/s)")
    for key, rate in _RATES.items():
        kernel = key.split(" ")[0]
        twin = _RATES.get(f"{kernel} twin")
        ratio = f"  ({rate / twin:6.1f}x the numpy twin)" if twin and "twin" not in key else ""
        tr.write_line(f"{key:28s} {rate:10.3f}{ratio}")
