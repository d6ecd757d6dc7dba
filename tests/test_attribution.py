"""Which source a copy names first when several protected documents match it equally: code that
normalizes alike (one file in several architectures' directories, differing only in identifiers,
literals and the header comment) is told apart by the words the index keeps of each code document;
the document holding more of the copied span's words comes first, every equal source is still
reported, and one index, a sharded index and a router over shards name them in the same order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from test_shard_check import routed

PORTS = [("hppa", "HP-PARISC"), ("riscv", "RISC-V"), ("nios2", "Nios II"), ("arc", "ARC")]


def port(arch: str, name: str) -> str:
    """One architecture's copy of a file: the same code for every port once identifiers are
    abstracted and comments dropped."""
    return f"""/* Override generic sotruss-lib.c to define actual functions for {name}.
   Copyright (C) 2022 Free Software Foundation, Inc.  */

#define HAVE_ARCH_PLTENTER
#include <elf/sotruss-lib.c>

ElfW(Addr)
la_{arch}_gnu_pltenter (ElfW(Sym) *sym, unsigned int ndx, uintptr_t *refcook,
                        uintptr_t *defcook, La_{arch}_regs *regs, unsigned int *flags,
                        const char *symname, long int *framesizep)
{{
  print_enter (refcook, defcook, symname,
               regs->lr_reg[0], regs->lr_reg[1], regs->lr_reg[2], *flags);
  /* No need to copy anything, we will not need the parameters in any case.  */
  *framesizep = 0;
  return sym->st_value;
}}

unsigned int
la_{arch}_gnu_pltexit (ElfW(Sym) *sym, unsigned int ndx, uintptr_t *refcook,
                       uintptr_t *defcook, const struct La_{arch}_regs *inregs,
                       struct La_{arch}_retval *outregs, const char *symname)
{{
  print_exit (refcook, defcook, symname, outregs->lrv_a0);
  return 0;
}}
"""


def documents() -> list[dict[str, Any]]:
    docs = [{"id": f"sysdeps/{arch}/sotruss-lib.c", "text": port(arch, name), "language": "c"}
            for arch, name in PORTS]  # fmt: skip
    docs.append({"id": "notes.txt", "text": "Release notes for the port to every architecture listed."})
    return docs


def shapes(text: str) -> list[str]:
    """A copy as outputs carry it: bare, fenced in a chatty answer, renamed (only the words of the
    header and the architecture's names left to tell the ports apart)."""
    renamed = text.replace("refcook", "ref_cookie").replace("symname", "name").replace("sym", "symbol")
    return [text, f"Here is the file you asked for:\n\n```c\n{text}```\n\nIt compiles as is.", renamed]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProtectedIndex, ProtectedIndex, Path]:
    root = tmp_path_factory.mktemp("attribution")
    one = ProtectedIndex.build(documents(), root / "one")
    sharded = ProtectedIndex.build(documents(), root / "sharded", shards=3)
    return one, sharded, root / "sharded"


@pytest.mark.parametrize("shape", range(3))
@pytest.mark.parametrize("which", range(len(PORTS)))
def test_the_port_an_answer_copies_is_named_first_and_the_equal_ones_after(
    indexes: tuple[ProtectedIndex, ProtectedIndex, Path], which: int, shape: int
) -> None:
    one, sharded, _ = indexes
    arch, name = PORTS[which]
    answer = shapes(port(arch, name))[shape]
    for index in (one, sharded):
        verdict = OutputFilter(index).check(answer)
        ids = [m.doc_id for m in verdict.matches]
        assert ids[0] == f"sysdeps/{arch}/sotruss-lib.c", ids
        assert {f"sysdeps/{a}/sotruss-lib.c" for a, _ in PORTS} <= set(ids), "every equal source is reported"


def test_a_router_over_the_shards_names_them_as_the_sharded_index_does(
    indexes: tuple[ProtectedIndex, ProtectedIndex, Path],
) -> None:
    # Sources equal in coverage and words keep the order of indexing, which differs between one
    # index and shards; the one holding the most words comes first in all three.
    one, sharded, path = indexes
    texts = [shape for arch, name in PORTS for shape in shapes(port(arch, name))]
    in_shards = [[m.doc_id for m in v.matches] for v in OutputFilter(sharded).check_batch(texts)]
    by_router = [[m.doc_id for m in v.matches] for v in routed(path, 3, OutputFilter(sharded), texts)]
    assert by_router == in_shards
    in_one = [[m.doc_id for m in v.matches] for v in OutputFilter(one).check_batch(texts)]
    assert [ids[0] for ids in in_one] == [ids[0] for ids in in_shards]
    assert [sorted(ids) for ids in in_one] == [sorted(ids) for ids in in_shards]


@settings(max_examples=25, deadline=None)
@given(
    names=st.lists(st.from_regex(r"[a-z][a-z0-9]{2,7}", fullmatch=True), min_size=2, max_size=5, unique=True),
    copied=st.integers(0, 4),
    order=st.randoms(use_true_random=False),
)
def test_whatever_the_order_of_indexing_the_copied_port_comes_first(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], copied: int, order: Any
) -> None:
    copied %= len(names)
    docs = [{"id": n, "text": port(n, n.upper()), "language": "c"} for n in names]
    order.shuffle(docs)
    index = ProtectedIndex.build(docs, tmp_path_factory.mktemp("order") / "index")
    verdict = OutputFilter(index).check(port(names[copied], names[copied].upper()))
    assert verdict.matches[0].doc_id == names[copied]
