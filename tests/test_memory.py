"""batch_memory: glibc is asked to keep freed memory inside a batch, and the defaults come back
(with the free memory returned) when the outermost batch ends, even on an exception."""
import pytest

from pmfast import _memory


class _FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_nested_batches_set_once_and_restore_once(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(_memory, "_LIBC", fake)
    with _memory.batch_memory():
        with _memory.batch_memory():
            assert fake.calls == [("mallopt", _memory.M_MMAP_MAX, 0),
                                  ("mallopt", _memory.M_TRIM_THRESHOLD,
                                   _memory.BATCH_TRIM_THRESHOLD)]
        assert len(fake.calls) == 2      # the inner batch leaves the settings alone
    assert fake.calls[2:] == [("mallopt", _memory.M_MMAP_MAX, _memory.DEFAULT_MMAP_MAX),
                              ("mallopt", _memory.M_TRIM_THRESHOLD,
                               _memory.DEFAULT_TRIM_THRESHOLD),
                              ("malloc_trim", 0)]
    assert _memory._depth == 0


def test_an_exception_still_restores(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(_memory, "_LIBC", fake)
    with pytest.raises(ZeroDivisionError):
        with _memory.batch_memory():
            1 / 0
    assert fake.calls[-1] == ("malloc_trim", 0)
    assert _memory._depth == 0


def test_opt_out_and_real_glibc(monkeypatch):
    monkeypatch.setenv("PMFAST_MALLOC", "system")
    assert _memory._glibc() is None
    monkeypatch.delenv("PMFAST_MALLOC")
    libc = _memory._glibc()
    if libc is None:
        pytest.skip("not glibc: batch_memory does nothing here")
    monkeypatch.setattr(_memory, "_LIBC", libc)
    with _memory.batch_memory():     # the real calls succeed and nest
        assert _memory._depth == 1
    assert _memory._depth == 0
