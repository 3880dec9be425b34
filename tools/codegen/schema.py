"""Reading Kafka message schemas (../shared/kafka-protocol/messages/*.json).

The files are JSON with `//` line comments. This module turns one file into a small
object model: a message with validVersions/flexibleVersions, its fields, and the struct
types (inline and commonStructs) the fields refer to. It knows the encoding rules of
README section 2 and 3 only as far as they concern the schema (version ranges, which
fields are tagged or nullable in which version); writing C++ is cpp.py's job.
"""
import json
import re

VERSION_MAX = 0x7FFF  # "N+" means N up to the largest int16

PRIMITIVES = {
    "bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "uuid",
    "string", "bytes", "records",
}


class VersionRange:
    """An inclusive range of versions, or the empty range ("none")."""

    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    @staticmethod
    def parse(text):
        text = text.strip()
        if text == "none":
            return VersionRange(None, None)
        if text.endswith("+"):
            return VersionRange(int(text[:-1]), VERSION_MAX)
        if "-" in text:
            lo, hi = text.split("-", 1)
            return VersionRange(int(lo), int(hi))
        return VersionRange(int(text), int(text))

    def empty(self):
        return self.lo is None or self.lo > self.hi

    def intersect(self, other):
        if self.empty() or other.empty():
            return VersionRange(None, None)
        r = VersionRange(max(self.lo, other.lo), min(self.hi, other.hi))
        return VersionRange(None, None) if r.lo > r.hi else r

    def contains(self, v):
        return not self.empty() and self.lo <= v <= self.hi

    def covers(self, other):
        """True when every version of `other` is in this range."""
        if other.empty():
            return True
        return not self.empty() and self.lo <= other.lo and other.hi <= self.hi

    def __eq__(self, other):
        return (self.lo, self.hi) == (other.lo, other.hi)

    def __repr__(self):
        if self.empty():
            return "none"
        return f"{self.lo}+" if self.hi == VERSION_MAX else f"{self.lo}-{self.hi}"


NONE = VersionRange(None, None)


def strip_comments(text):
    """Deletes `//` comments; README section 1 notes that no string value contains `//`."""
    return "\n".join(re.sub(r"//.*$", "", line) for line in text.split("\n"))


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))


def snake(name):
    """PascalCase to snake_case: ThrottleTimeMs -> throttle_time_ms, ISRNodes -> isr_nodes."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Field:
    def __init__(self, spec, message):
        self.name = spec["name"]
        self.type = spec["type"]
        self.about = spec.get("about", "")
        self.versions = VersionRange.parse(spec.get("versions", "none")).intersect(message.valid)
        self.nullable = VersionRange.parse(spec.get("nullableVersions", "none")).intersect(
            self.versions)
        self.tagged = VersionRange.parse(spec.get("taggedVersions", "none")).intersect(
            self.versions)
        self.tag = spec.get("tag")
        self.default = spec.get("default")
        self.flexible_override = (VersionRange.parse(spec["flexibleVersions"])
                                  if "flexibleVersions" in spec else None)
        self.is_array = self.type.startswith("[]")
        self.element = self.type[2:] if self.is_array else self.type
        self.struct = None  # the Struct for struct or array-of-struct fields
        if self.element not in PRIMITIVES:
            self.struct = message.struct_for(self.element, spec.get("fields"), self.versions)
        elif spec.get("fields"):
            raise ValueError(f"{message.name}.{self.name}: primitive with fields")
        if self.tag is not None and self.tagged.empty():
            raise ValueError(f"{message.name}.{self.name}: tag without taggedVersions")
        if not self.tagged.empty() and not message.flexible.covers(self.tagged):
            raise ValueError(f"{message.name}.{self.name}: tagged outside flexible versions")
        if self.element == "records" and not self.tagged.empty():
            raise ValueError(f"{message.name}.{self.name}: tagged records are not supported")

    @property
    def member(self):
        return message_member_name(self.name)

    def positional(self):
        """Versions in which the field is in the positional layout (present, not tagged)."""
        if self.tagged.empty():
            return self.versions
        # Tagged versions are always a suffix of the field's versions in this snapshot.
        if self.tagged.lo <= self.versions.lo:
            return NONE
        return VersionRange(self.versions.lo, self.tagged.lo - 1)

    def any_nullable(self):
        return not self.nullable.empty()


CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char",
    "class", "const", "continue", "default", "delete", "do", "double", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "mutable", "namespace", "new", "not", "operator", "or",
    "private", "protected", "public", "register", "return", "short", "signed", "sizeof",
    "static", "struct", "switch", "template", "this", "throw", "true", "try", "typedef",
    "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
    "while",
    # Names the generated classes use unqualified: a member may not shadow them.
    "decode", "encode", "reader", "writer", "result", "uuid", "record_set",
    # The static members of every generated message.
    "api", "version_min", "version_max", "flexible_version_min",
}


def message_member_name(name):
    s = snake(name)
    return s + "_" if s in CPP_KEYWORDS else s


class Struct:
    """A struct type: the message body itself, an inline struct, or a commonStruct."""

    def __init__(self, name, cpp_name):
        self.name = name
        self.cpp_name = cpp_name
        self.fields = []
        self.context = NONE  # union of the version ranges in which it is used

    def tagged_fields(self):
        return sorted((f for f in self.fields if not f.tagged.empty()), key=lambda f: f.tag)


class Message:
    """One schema file: a request, response, header or data type."""

    def __init__(self, spec):
        self.name = spec["name"]
        self.kind = spec["type"]
        self.api_key = spec.get("apiKey")
        self.valid = VersionRange.parse(spec["validVersions"])
        self.flexible = VersionRange.parse(spec.get("flexibleVersions", "none")).intersect(
            self.valid)
        self.about = ""
        self.structs = []  # nested structs, each after the structs it uses
        self._by_name = {}
        self._common_specs = {c["name"]: c for c in spec.get("commonStructs", [])}
        self.cpp_name = snake(self.name)
        self.body = Struct(self.name, self.cpp_name)
        self.body.context = self.valid
        self.body.fields = [Field(f, self) for f in spec["fields"]]
        self._check_tags(self.body)
        for s in self.structs:
            self._check_tags(s)
        self._resolve_name_clashes()

    def struct_for(self, type_name, inline_fields, versions):
        if type_name in self._by_name:
            s = self._by_name[type_name]
            if inline_fields:
                raise ValueError(f"{self.name}: struct {type_name} defined twice")
            s.context = _union(s.context, versions)
            return s
        if inline_fields is None:
            if type_name not in self._common_specs:
                raise ValueError(f"{self.name}: unknown type {type_name}")
            inline_fields = self._common_specs[type_name]["fields"]
            versions = self.valid  # a common struct may be used anywhere
        s = Struct(type_name, snake(type_name))
        s.context = versions
        self._by_name[type_name] = s
        s.fields = [Field(f, self) for f in inline_fields]
        self.structs.append(s)  # after its own nested structs: a valid declaration order
        return s

    def _check_tags(self, s):
        tags = [f.tag for f in s.fields if f.tag is not None]
        if len(tags) != len(set(tags)):
            raise ValueError(f"{self.name}.{s.name}: duplicate tags")

    def _resolve_name_clashes(self):
        """A member may not share its name with a type used in the same class (C++ rule
        [basic.scope.class]): rename such types with a `_data` suffix."""
        members = {f.member for s in [self.body] + self.structs for f in s.fields}
        for s in self.structs:
            while s.cpp_name in members or s.cpp_name == self.cpp_name:
                s.cpp_name += "_data"


def _union(a, b):
    if a.empty():
        return b
    if b.empty():
        return a
    return VersionRange(min(a.lo, b.lo), max(a.hi, b.hi))
