"""Reproduce the (hash-table) order in which podio reports collection names and categories.

podio (C++, built with GCC/libstdc++ on 64-bit Linux) keeps the raw buffers of a Frame in a
``std::unordered_map<std::string, CollectionReadBuffers>`` (``ROOTFrameData::BufferMap``).
The readers (``ROOTReader`` / ``RNTupleReader``) ``emplace`` one entry per collection, in the
order of the ``<category>___CollectionTypeInfo`` entries stored in ``podio_metadata`` (for
old files whose CollectionTypeInfo tuple has no name, the name comes from the idTable via the
collection ID, but the order is still the CollectionTypeInfo order).
``Frame::getAvailableCollections()`` / ``ROOTFrameData::getAvailableCollections()`` then simply
iterate that map, i.e. they return the libstdc++ ``unordered_map`` iteration order.

Likewise ``ROOTReader::getAvailableCategories()`` (TTree files, podio <= 1.7) iterates
``std::unordered_map<std::string, CategoryInfo> m_categories`` that was filled (``try_emplace``)
with the *sorted*, de-duplicated category names (prefixes of the ``*___CollectionTypeInfo``
branches of ``podio_metadata``).  ``RNTupleReader`` (podio <= 1.7) instead returns the
``availableCategories`` field of ``podio_metadata`` verbatim (file order).
NOTE: podio after v01-07 sorts categories and returns them sorted (not hash order).

This module emulates, in pure Python:
  * ``std::hash<std::string>``  = ``std::_Hash_bytes(data, len, 0xc70f6907)`` (64-bit variant,
    libstdc++-v3/libsupc++/hash_bytes.cc);
  * ``std::unordered_map`` with unique keys: ``_Prime_rehash_policy`` (max_load_factor 1.0,
    growth factor 2, ``_M_next_bkt`` with the small fast table and ``__prime_list``),
    ``_M_insert_bucket_begin`` and ``_M_rehash_aux(size_t, true_type)``.
It was checked against a real g++ 12 / libstdc++ ``unordered_map<std::string,int>`` on random
inputs (see test_against_cpp.py) and reproduces every fixture's JSON order.

No dependencies beyond the standard library.
"""

from __future__ import annotations

import bisect
import math
from typing import Iterable, List

__all__ = [
    "std_hash_string",
    "unordered_map_order",
    "podio_name_order",
    "podio_category_order",
]

_MASK = (1 << 64) - 1
_MUL = ((0xC6A4A793 << 32) + 0x5BD1E995) & _MASK
_SEED = 0xC70F6907


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash_bytes(data: bytes, seed: int = _SEED) -> int:
    """libstdc++ ``std::_Hash_bytes`` for 64-bit ``size_t`` (little-endian loads)."""
    n = len(data)
    len_aligned = n & ~0x7
    h = (seed ^ ((n * _MUL) & _MASK)) & _MASK
    for p in range(0, len_aligned, 8):
        d = int.from_bytes(data[p:p + 8], "little")
        d = (_shift_mix((d * _MUL) & _MASK) * _MUL) & _MASK
        h ^= d
        h = (h * _MUL) & _MASK
    if n & 0x7:
        d = int.from_bytes(data[len_aligned:], "little")  # load_bytes(): little-endian
        h ^= d
        h = (h * _MUL) & _MASK
    h = (_shift_mix(h) * _MUL) & _MASK
    h = _shift_mix(h)
    return h


def std_hash_string(s) -> int:
    """``std::hash<std::string>{}(s)`` (also equals ``std::hash<std::string_view>``)."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    return _hash_bytes(bytes(s))


# libstdc++-v3/src/shared/hashtable-aux.cc (64-bit table, sentinel included)
_PRIME_LIST = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    103, 109, 113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313,
    337, 359, 383, 409, 439, 467, 503, 541, 577, 619, 661, 709, 761, 823, 887, 953, 1031, 1109,
    1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469,
    3739, 4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113,
    12011, 12983, 14033, 15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727,
    33223, 35933, 38873, 42043, 45481, 49201, 53201, 57557, 62233, 67307, 72817, 78779, 85229,
    92203, 99733, 107897, 116731, 126271, 136607, 147793, 159871, 172933, 187091, 202409, 218971,
    236897, 256279, 277261, 299951, 324503, 351061, 379787, 410857, 444487, 480881, 520241,
    562841, 608903, 658753, 712697, 771049, 834181, 902483, 976369, 1056323, 1142821, 1236397,
    1337629, 1447153, 1565659, 1693859, 1832561, 1982627, 2144977, 2320627, 2510653, 2716249,
    2938679, 3179303, 3439651, 3721303, 4026031, 4355707, 4712381, 5098259, 5515729, 5967347,
    6456007, 6984629, 7556579, 8175383, 8844859, 9569143, 10352717, 11200489, 12117689,
    13109983, 14183539, 15345007, 16601593, 17961079, 19431899, 21023161, 22744717, 24607243,
    26622317, 28802401, 31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847,
    54061849, 58488943, 63278561, 68460391, 74066549, 80131819, 86693767, 93793069, 101473717,
    109783337, 118773397, 128499677, 139022417, 150406843, 162723577, 176048909, 190465427,
    206062531, 222936881, 241193053, 260944219, 282312799, 305431229, 330442829, 357502601,
    386778277, 418451333, 452718089, 489790921, 529899637, 573292817, 620239453, 671030513,
    725980837, 785430967, 849749479, 919334987, 994618837, 1076067617, 1164186217, 1259520799,
    1362662261, 1474249943, 1594975441, 1725587117, 1866894511, 2019773507, 2185171673,
    2364114217, 2557710269, 2767159799, 2993761039, 3238918481, 3504151727, 3791104843,
    4101556399, 4294967291,
    6442450933, 8589934583, 12884901857, 17179869143, 25769803693, 34359738337, 51539607367,
    68719476731, 103079215087, 137438953447, 206158430123, 274877906899, 412316860387,
    549755813881, 824633720731, 1099511627689, 1649267441579, 2199023255531, 3298534883309,
    4398046511093, 6597069766607, 8796093022151, 13194139533241, 17592186044399,
    26388279066581, 35184372088777, 52776558133177, 70368744177643, 105553116266399,
    140737488355213, 211106232532861, 281474976710597, 562949953421231, 1125899906842597,
    2251799813685119, 4503599627370449, 9007199254740881, 18014398509481951,
    36028797018963913, 72057594037927931, 144115188075855859, 288230376151711717,
    576460752303423433, 1152921504606846883, 2305843009213693951, 4611686018427387847,
    9223372036854775783, 18446744073709551557, 18446744073709551557,
]
_FAST_BKT = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)


class _RehashPolicy:
    """``std::__detail::_Prime_rehash_policy`` (max_load_factor 1.0, growth factor 2)."""

    def __init__(self) -> None:
        self.next_resize = 0

    def next_bkt(self, n: int) -> int:
        if n < len(_FAST_BKT):
            if n == 0:
                return 1
            self.next_resize = int(math.floor(_FAST_BKT[n] * 1.0))
            return _FAST_BKT[n]
        last = len(_PRIME_LIST) - 2  # index of __last_prime (sentinel excluded)
        i = bisect.bisect_left(_PRIME_LIST, n, 6, last)
        if i == last:
            self.next_resize = _MASK
        else:
            self.next_resize = int(math.floor(_PRIME_LIST[i] * 1.0))
        return _PRIME_LIST[i]

    def need_rehash(self, n_bkt: int, n_elt: int, n_ins: int):
        if n_elt + n_ins > self.next_resize:
            min_bkts = float(max(n_elt + n_ins, 0 if self.next_resize else 11)) / 1.0
            if min_bkts >= n_bkt:
                return True, self.next_bkt(max(int(math.floor(min_bkts)) + 1, n_bkt * 2))
            self.next_resize = int(math.floor(n_bkt * 1.0))
            return False, 0
        return False, 0


def unordered_map_order(keys_in_insertion_order: Iterable[str]) -> List[str]:
    """Iteration order of a default-constructed libstdc++ ``std::unordered_map<std::string, T>``
    (or ``unordered_set<std::string>``) after ``emplace``/``insert``/``try_emplace`` of the keys in
    the given order (duplicates are ignored, as the container has unique keys)."""
    # Singly linked list: nxt[node] -> next node; "BB" is _M_before_begin.  buckets[b] holds the
    # node *before* the first node of bucket b (or None when empty), as libstdc++ does.
    BB = object()
    nxt = {BB: None}
    code = {}
    n_bkt = 1
    buckets = [None]
    policy = _RehashPolicy()
    count = 0

    def rehash(new_n: int) -> None:
        nonlocal buckets, n_bkt
        new_buckets = [None] * new_n
        p = nxt[BB]
        nxt[BB] = None
        bbegin_bkt = 0
        while p is not None:
            nx = nxt[p]
            b = code[p] % new_n
            if new_buckets[b] is None:
                nxt[p] = nxt[BB]
                nxt[BB] = p
                new_buckets[b] = BB
                if nxt[p] is not None:
                    new_buckets[bbegin_bkt] = p
                bbegin_bkt = b
            else:
                prev = new_buckets[b]
                nxt[p] = nxt[prev]
                nxt[prev] = p
            p = nx
        buckets = new_buckets
        n_bkt = new_n

    for key in keys_in_insertion_order:
        if key in code:
            continue
        h = std_hash_string(key)
        do, new_n = policy.need_rehash(n_bkt, count, 1)
        if do:
            rehash(new_n)
        b = h % n_bkt
        code[key] = h
        # _M_insert_bucket_begin
        if buckets[b] is not None:
            prev = buckets[b]
            nxt[key] = nxt[prev]
            nxt[prev] = key
        else:
            nxt[key] = nxt[BB]
            nxt[BB] = key
            if nxt[key] is not None:
                buckets[code[nxt[key]] % n_bkt] = key
            buckets[b] = BB
        count += 1

    out = []
    p = nxt[BB]
    while p is not None:
        out.append(p)
        p = nxt[p]
    return out


def podio_name_order(names_in_insertion_order: List[str]) -> List[str]:
    """Order of ``podio::Frame::getAvailableCollections()`` for a frame freshly read from a
    ROOT (TTree or RNTuple) file, before any collection was accessed.

    ``names_in_insertion_order``: the collection names in the order of the category's
    ``<category>___CollectionTypeInfo`` entries in ``podio_metadata`` (for old files with the
    tuple-style CollectionTypeInfo, map its collection IDs to names through ``___idTable``).
    """
    return unordered_map_order(names_in_insertion_order)


def podio_category_order(categories, rntuple: bool = False) -> List[str]:
    """Order of ``podio::Reader::getAvailableCategories()`` as podio <= 1.7 returns it.

    * TTree files (``rntuple=False``): ``categories`` are the prefixes of the
      ``*___CollectionTypeInfo`` branches of ``podio_metadata``; they are sorted, de-duplicated
      and inserted into an ``unordered_map<std::string, ...>``, whose order is returned.
    * RNTuple files (``rntuple=True``): pass the ``availableCategories`` field of
      ``podio_metadata``; it is returned as stored.
    """
    if rntuple:
        return list(categories)
    return unordered_map_order(sorted(set(categories)))


if __name__ == "__main__":  # tiny self-check on the CLD-like fixture names
    names = ['CalohitMCTruthLink', 'ClusterMCTruthLink', 'ECALBarrel', 'EventHeader', 'HCALBarrel',
             'MCParticles', 'PandoraClusters', 'PandoraPFOs', 'RecoMCTruthLink',
             'SiTracks_Refitted', 'SiTracks_Refitted_dQdx', 'SiTracksMCTruthLink']
    expected = ['SiTracks_Refitted_dQdx', 'PandoraPFOs', 'PandoraClusters', 'SiTracks_Refitted',
                'MCParticles', 'HCALBarrel', 'EventHeader', 'RecoMCTruthLink', 'ECALBarrel',
                'SiTracksMCTruthLink', 'ClusterMCTruthLink', 'CalohitMCTruthLink']
    assert podio_name_order(names) == expected
    assert podio_category_order(["events", "metadata"]) == ["metadata", "events"]
    print("ok")
