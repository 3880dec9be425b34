#!/usr/bin/env python3
"""Bans constructs that break determinism, layering or hygiene (STYLE.md, "Build and tooling").

Checks every C++ file under src/ (and tests/, bench/ for the clock/random bans):
  * std::rand, random_device, system_clock::now, steady_clock::now, sleep_for outside
    base/clock.* and base/random.* (time and randomness go through replaceable sources);
  * coroutine lambdas that capture (their closure can die at the first co_await);
  * a bare TODO without an issue number, e.g. TODO(#42);
  * an #include that reaches up the layers (DESIGN.md, "Layers").
Exits non-zero listing every violation.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Which layers each layer may include. A layer always may include itself.
ALLOWED = {
    "base": set(),
    "storage": {"base"},
    "raft": {"base", "storage"},
    "cluster": {"base", "storage", "raft"},
    "group": {"base", "storage", "raft", "cluster"},
    "protocol": {"base"},
    "net": {"base"},
    "broker": {"base", "storage", "raft", "cluster", "group", "protocol"},
    "http": {"base", "storage", "raft", "cluster", "group", "broker"},
    "cli": {"base", "protocol", "net"},
}

# The network layer's Asio-free interface headers, which the broker implements: net calls
# the broker through them, so these few may be included by broker/ although net/ sits above
# it in the data flow. Nothing else of net/ may be.
INTERFACE_EXCEPTIONS = {
    ("broker", "net/request_handler.h"),
    ("broker", "net/responder.h"),
    ("broker", "net/response.h"),
}

BANNED = [
    (re.compile(r"\bstd::rand\b|\bsrand\s*\("), "std::rand"),
    (re.compile(r"\brandom_device\b"), "std::random_device"),
    (re.compile(r"system_clock::now\b"), "system_clock::now"),
    (re.compile(r"steady_clock::now\b"), "steady_clock::now"),
    (re.compile(r"\bsleep_for\b"), "sleep_for"),
]
EXEMPT_BANS = {"src/base/clock.cc", "src/base/clock.h", "src/base/random.cc", "src/base/random.h"}
CAPTURING_CORO_LAMBDA = re.compile(r"\[[^\]]+\]\s*\([^)]*\)\s*(mutable\s*)?->\s*[\w:]*awaitable")
BARE_TODO = re.compile(r"\bTODO\b(?!\(#\d+\))")
INCLUDE = re.compile(r'^\s*#\s*include\s+"(([a-z_]+)/[^"]+)"')


def strip_strings(line: str) -> str:
    return re.sub(r'"(\\.|[^"\\])*"', '""', line)


def check_file(path: pathlib.Path, rel: str, errors: list) -> None:
    parts = rel.split("/")
    layer = parts[1] if parts[0] == "src" and len(parts) > 2 else None
    # Tests and benchmarks may measure time; they still may not reach up the layers.
    is_test = rel.endswith("_test.cc") or parts[0] in ("tests", "bench")
    for no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        code = strip_strings(line.split("//", 1)[0])
        if rel not in EXEMPT_BANS and not is_test:
            for pattern, what in BANNED:
                if pattern.search(code):
                    errors.append(f"{rel}:{no}: {what} is banned outside base/clock and base/random")
        if CAPTURING_CORO_LAMBDA.search(code):
            errors.append(f"{rel}:{no}: a coroutine lambda must not capture")
        if BARE_TODO.search(line):
            errors.append(f"{rel}:{no}: TODO needs an issue number: TODO(#N)")
        m = INCLUDE.match(line)
        if m and layer in ALLOWED:
            target = m.group(2)
            if (layer, m.group(1)) in INTERFACE_EXCEPTIONS:
                continue
            if target != layer and target in ALLOWED and target not in ALLOWED[layer]:
                errors.append(f"{rel}:{no}: {layer}/ may not include {target}/ (a layer never reaches up)")


def main() -> int:
    errors: list = []
    for top in ("src", "tests", "bench", "tools"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".h", ".cc") and path.is_file():
                rel = path.relative_to(ROOT).as_posix()
                if "/generated/" in rel:
                    continue
                check_file(path, rel, errors)
    for e in errors:
        print(e)
    print(f"tidy: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
