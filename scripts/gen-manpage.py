#!/usr/bin/env python3
"""Writes tlsresume(1) in roff from the binary's own --help output, so the page says what
the binary does: `gen-manpage.py BINARY OUTPUT`. Run at build time (CMake target manpage)."""
import re
import subprocess
import sys


def help_text(binary, *words):
    p = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        sys.exit(f"gen-manpage: {' '.join([binary, *words, '--help'])} exited {p.returncode}: {p.stderr}")
    return p.stdout.replace(binary, "tlsresume")  # "Usage: tlsresume ...", not the build path


def roff(text):
    out = []
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def subcommands(text):
    """Names listed under "Subcommands:" (CLI11's help layout)."""
    m = re.search(r"^Subcommands:\n((?:[ \t]+\S.*\n?)*)", text, re.M | re.I)
    # A name starts its line after two spaces; its description's continuation lines are
    # indented further.
    return re.findall(r"^ {1,4}([a-z][a-z0-9-]*)(?:\s|$)", m.group(1), re.M) if m else []


def main(binary, output):
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.split()
    version = version[0] if version else ""
    top = help_text(binary)
    page = [
        f'.TH TLSRESUME 1 "" "tlsresume {version}" "User Commands"',
        ".SH NAME",
        "tlsresume \\- a TLS terminator built around safe, fast session resumption",
        ".SH SYNOPSIS",
        ".B tlsresume",
        "\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        "The sections below are the program's own \\fB\\-\\-help\\fR output for each subcommand.",
        ".PP",
        ".nf",
        roff(top),
        ".fi",
    ]
    for sub in subcommands(top):
        text = help_text(binary, sub)
        page += [f".SH {sub.upper()}", ".nf", roff(text), ".fi"]
        for nested in subcommands(text):
            page += [f".SS {sub} {nested}", ".nf", roff(help_text(binary, sub, nested)), ".fi"]
    page += [
        ".SH EXIT STATUS",
        "0 on success; 2 for a bad configuration, certificate, key or port (nothing is started);"
        " \\fBctl\\fR exits 1 when the server refuses or cannot be reached.",
        ".SH SIGNALS",
        "SIGTERM, SIGINT: drain and stop. SIGUSR1: reopen the access log. SIGHUP: logged.",
        ".SH FILES",
        "/etc/tlsresume/tlsresume.toml (the systemd unit's configuration); an example with every key"
        " is installed as tlsresume.toml.example beside the documentation.",
        ".SH SEE ALSO",
        "\\fBsystemd.service\\fR(5), \\fBopenssl\\fR(1)",
    ]
    with open(output, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
