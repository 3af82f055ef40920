"""Writing through the real podio/EDM4hep ROOT dictionaries, where they are loaded or loadable.

In a Key4hep environment (``LD_LIBRARY_PATH`` holds ``libpodioDict``/``libedm4hepDict`` and their
rootmaps) ROOT autoloads podio's own ``podio::ObjectID``, ``edm4hep::ClusterData``, ... as soon as a
name is used. Declaring the project's twins of those structs then fails (``error: redefinition of
'ObjectID'``), and any interpreted code that names them makes ROOT parse podio's headers, which a
C++17 interpreter cannot do for podio >= 1.3 (C++20). So in that case the writer names no podio or
EDM4hep type in C++ at all: objects are created through their ``TClass`` (dictionary), branches by
class name (``TTree::Bronch``), vectors are filled through ROOT's collection proxy (one ``memcpy``
per event and branch, as the declaring path does) and struct members are set by the offsets the
dictionary reports. The numpy layouts are checked against the dictionary (sizes and offsets), so a
dictionary of another EDM4hep version is an error, never a silently shifted column.
"""

from __future__ import annotations

import threading

from .errors import EDM4hepError

_LOCK = threading.Lock()
_DECLARED = False

PRELUDE = r"""
#include <cstdint>
#include <cstring>
#include <string>
#include "TClass.h"
#include "TTree.h"
#include "TVirtualCollectionProxy.h"
std::uintptr_t k4mlpf_dict_new(const char* cls) {
  TClass* c = TClass::GetClass(cls); return c ? reinterpret_cast<std::uintptr_t>(c->New()) : 0; }
long k4mlpf_dict_size(const char* cls) { TClass* c = TClass::GetClass(cls); return c ? c->Size() : -1; }
long k4mlpf_dict_offset(const char* cls, const char* member) {
  TClass* c = TClass::GetClass(cls); return c ? c->GetDataMemberOffset(member) : -1; }
std::uintptr_t k4mlpf_dict_proxy(const char* cls) {
  TClass* c = TClass::GetClass(cls);
  return c && c->GetCollectionProxy() ? reinterpret_cast<std::uintptr_t>(c->GetCollectionProxy()) : 0; }
long k4mlpf_dict_increment(std::uintptr_t proxy) {
  return reinterpret_cast<TVirtualCollectionProxy*>(proxy)->GetIncrement(); }
TBranch* k4mlpf_dict_branch(TTree* tree, const char* name, const char* cls, std::uintptr_t object, int basket,
                            int split) {
  void** holder = new void*(reinterpret_cast<void*>(object));  // ROOT keeps the address of the pointer
  return tree->Bronch(name, cls, holder, basket, split); }
std::uintptr_t k4mlpf_dict_resize(std::uintptr_t proxy, std::uintptr_t vector, std::size_t n) {
  auto* p = reinterpret_cast<TVirtualCollectionProxy*>(proxy);
  TVirtualCollectionProxy::TPushPop helper(p, reinterpret_cast<void*>(vector));
  void* env = p->Allocate(n, true);
  void* first = n ? p->At(0) : nullptr;
  p->Commit(env);
  return reinterpret_cast<std::uintptr_t>(first); }
void k4mlpf_dict_assign(std::uintptr_t proxy, std::uintptr_t vector, std::uintptr_t buffer, std::size_t n) {
  auto* p = reinterpret_cast<TVirtualCollectionProxy*>(proxy);
  std::uintptr_t first = k4mlpf_dict_resize(proxy, vector, n);
  if (n) std::memcpy(reinterpret_cast<void*>(first), reinterpret_cast<const void*>(buffer), n * p->GetIncrement()); }
long long k4mlpf_dict_fill_events(TTree* tree, int n_columns, const std::uint64_t* proxies,
    const std::uint64_t* vectors, const std::uint64_t* bases, const std::uint64_t* item_sizes,
    const std::uint64_t* offsets, long long n_events) {
  for (long long e = 0; e < n_events; ++e) {
    for (int c = 0; c < n_columns; ++c) {
      const long long* off = reinterpret_cast<const long long*>(offsets[c]);
      k4mlpf_dict_assign(proxies[c], vectors[c], bases[c] + off[e] * item_sizes[c],
                         static_cast<std::size_t>(off[e + 1] - off[e])); }
    if (tree->Fill() < 0) return e; }
  return n_events; }
void k4mlpf_dict_set_string(std::uintptr_t object, long offset, const char* value) {
  *reinterpret_cast<std::string*>(object + offset) = value; }
void k4mlpf_dict_set_u32(std::uintptr_t object, long offset, std::uint32_t value) {
  *reinterpret_cast<std::uint32_t*>(object + offset) = value; }
void k4mlpf_dict_set_u16(std::uintptr_t object, long offset, std::uint16_t value) {
  *reinterpret_cast<std::uint16_t*>(object + offset) = value; }
void k4mlpf_dict_set_bool(std::uintptr_t object, long offset, bool value) {
  *reinterpret_cast<bool*>(object + offset) = value; }
"""


def podio_dictionaries(ROOT) -> bool:
    """Whether ROOT knows a compiled dictionary of podio (loaded, or loadable through a rootmap)."""
    try:
        if ROOT.gInterpreter.GetClassSharedLibs("podio::ObjectID"):
            return True
        known = ROOT.gROOT.GetListOfClasses().FindObject("podio::ObjectID")
        return bool(known) and bool(known.HasDictionary())
    except Exception:  # noqa: BLE001 - no answer means: no dictionaries
        return False


def declare(ROOT) -> None:
    """Declare the dictionary-path helpers (they name no podio or EDM4hep type), once per process."""
    global _DECLARED
    with _LOCK:
        if not _DECLARED:
            if not ROOT.gInterpreter.Declare(PRELUDE):
                raise EDM4hepError("ROOT could not compile the writer's dictionary helpers")
            _DECLARED = True


def has_dictionary(ROOT, cpp_class: str) -> bool:
    return bool(ROOT.gInterpreter.GetClassSharedLibs(cpp_class)) or int(ROOT.k4mlpf_dict_size(cpp_class)) > 0


class DictVector:
    """A ``std::vector<T>`` made by T's dictionary, filled through ROOT's collection proxy."""

    def __init__(self, ROOT, element: str):
        self.cls = f"vector<{element}>"
        self.address = int(ROOT.k4mlpf_dict_new(self.cls))
        self.proxy = int(ROOT.k4mlpf_dict_proxy(self.cls))
        if not self.address or not self.proxy:
            raise EDM4hepError(f"the loaded ROOT dictionaries have no {self.cls}")
        self.increment = int(ROOT.k4mlpf_dict_increment(self.proxy))


def check_layout(ROOT, cpp_class: str, dtype) -> None:
    """The numpy twin ``dtype`` must match the dictionary's struct byte for byte."""
    size = int(ROOT.k4mlpf_dict_size(cpp_class))
    if size != dtype.itemsize:
        raise EDM4hepError(f"{cpp_class} of the loaded dictionary has {size} bytes, the layout written here "
                           f"{dtype.itemsize}: the dictionary is of another version of the datamodel")
    for name, (_, offset) in (dtype.fields or {}).items():
        theirs = int(ROOT.k4mlpf_dict_offset(cpp_class, name))
        if theirs != offset:
            raise EDM4hepError(f"{cpp_class}.{name} is at byte {theirs} in the loaded dictionary, "
                               f"at {offset} in the layout written here")
