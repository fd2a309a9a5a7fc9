#!/usr/bin/env python3
"""Generate src/sql/31_entity_aliases_data.sql, the shipped rows of
aa_entity_aliases: country names, alternative names, ISO 3166-1 alpha-3
codes (type LOC) and demonyms (type MISC), each mapped to the country's
canonical English name, plus a few organisations whose CoNLL-2003 type is
not the one a reader expects (the "Taleban" are MISC there).  The type of
a row is the type aa_entities reports for a mention resolved through it.

Sources (both MIT licensed, fetched with `npm pack`, pinned versions):
  countries-list 3.4.1     (Annexare Studio): names, aliases, ISO codes
  i18n-nationality 1.4.0   (widdix GmbH): English demonyms by ISO code
plus a short hand-written list of news usages (U.S., America, Britain...).

Usage: src/tools/gen_entity_aliases.py [OUTPUT]   (needs npm and network;
the build itself never runs this, it uses the committed output).
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGES = ["countries-list@3.4.1", "i18n-nationality@1.4.0"]

# Alpha-3 codes that are also common English words or names; left out so
# that "CAN" or "BEN" never turn into a country.
SKIPPED_CODES = {"AND", "ARE", "CAN", "BEN", "COM", "FIN", "MAR", "PER",
                 "TON", "GIN", "MAC", "TUN", "NIC", "CUB", "COD", "COG",
                 "DOM", "GAB", "JAM", "LIE", "MLT", "NOR", "POL", "SUR",
                 "TUR", "TUV", "VAT", "ITA", "IRL"}

# Usages of news text that the packages do not list: (canonical, type) ->
# aliases.
EXTRA = {
    ("United States", "LOC"): ["U.S.", "US", "U.S.A.", "USA", "America",
                               "United States of America"],
    ("United States", "MISC"): ["Americans"],
    ("United Kingdom", "LOC"): ["U.K.", "UK", "Britain", "Great Britain"],
    ("United Kingdom", "MISC"): ["British", "Briton", "Britons"],
    ("Russia", "LOC"): ["Russian Federation"],
    ("Russia", "MISC"): ["Russians"],
    ("Taliban", "ORG"): ["Taliban", "Taleban"],
    ("Reuters", "ORG"): ["Reuters", "Reuter", "REUTER", "REUTERS"],
    ("South Korea", "LOC"): ["Republic of Korea", "S. Korea"],
    ("North Korea", "LOC"): ["DPRK", "N. Korea"],
    ("Netherlands", "LOC"): ["Holland", "The Netherlands"],
    ("United Arab Emirates", "LOC"): ["U.A.E."],
    ("Czech Republic", "LOC"): ["Czechia"],
    ("China", "LOC"): ["People's Republic of China", "PRC"],
}


def fetch(workdir):
    """npm pack the pinned packages into workdir and unpack them."""
    subprocess.run(["npm", "pack", "--silent"] + PACKAGES, cwd=workdir,
                   check=True, stdout=subprocess.DEVNULL)
    roots = {}
    for name in os.listdir(workdir):
        if name.endswith(".tgz"):
            dest = os.path.join(workdir, name[:-4])
            with tarfile.open(os.path.join(workdir, name)) as tar:
                tar.extractall(dest)
            roots[name.rsplit("-", 1)[0]] = os.path.join(dest, "package")
    return roots


def sql_literal(value):
    return "'" + value.replace("'", "''") + "'"


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "src/sql/31_entity_aliases_data.sql"
    with tempfile.TemporaryDirectory() as workdir:
        roots = fetch(workdir)
        with open(os.path.join(roots["countries-list"], "countries.min.json")) as f:
            countries = json.load(f)
        with open(os.path.join(roots["countries-list"], "minimal",
                               "countries.2to3.min.json")) as f:
            alpha3 = json.load(f)
        with open(os.path.join(roots["i18n-nationality"], "langs", "en.json")) as f:
            demonyms = json.load(f)["nationalities"]

    aliases = {}

    def add(alias, canonical, kind):
        alias = alias.strip()
        if alias and alias not in aliases:
            aliases[alias] = (canonical, kind)

    for code in sorted(countries):
        country = countries[code]
        name = country["name"]
        add(name, name, "LOC")
        for alt in country.get("alias", []):
            add(alt, name, "LOC")
        code3 = alpha3.get(code)
        if code3 and code3 not in SKIPPED_CODES:
            add(code3, name, "LOC")
        if code in demonyms and demonyms[code] != name:
            add(demonyms[code], name, "MISC")
    for (canonical, kind), alts in EXTRA.items():
        for alt in alts:
            aliases[alt] = (canonical, kind)

    with open(output, "w") as out:
        write_sql(out, aliases)
    print("wrote %d aliases to %s" % (len(aliases), output))


def is_ascii(value):
    return all(ord(c) < 128 for c in value)


def bytea_escape(value):
    """value as the escape form of its UTF-8 bytes: ASCII as is, every other
    byte as a backslash and three octal digits (bytea's escape format)."""
    out = []
    for byte in value.encode("utf-8"):
        if byte == 0x5C:
            out.append("\\\\")
        elif byte < 128:
            out.append(chr(byte))
        else:
            out.append("\\%03o" % byte)
    return "".join(out)


def write_sql(out, aliases):
    """The install script part: ASCII only, so that it reads the same in
    every database encoding.  Names with other characters are written as
    the escape form of their UTF-8 bytes and converted when installed; a
    name the database encoding
    cannot hold (C with caron in LATIN1) could never match text stored
    there, so its row is left out instead of failing CREATE EXTENSION."""
    out.write("-- Shipped rows of aa_entity_aliases, generated by\n"
              "-- src/tools/gen_entity_aliases.py from the npm packages "
              + ", ".join(PACKAGES) + "\n"
              "-- (MIT licences, see README).  Do not edit by hand.\n\n"
              "INSERT INTO aa_entity_aliases (alias, canonical, type, shipped) VALUES\n")
    items = sorted(aliases.items())
    rows = ["    (%s, %s, '%s', true)" % (sql_literal(a), sql_literal(c), k)
            for a, (c, k) in items if is_ascii(a) and is_ascii(c)]
    out.write(",\n".join(rows) + ";\n")
    rows = ["        (%s, %s, '%s')" % (sql_literal(bytea_escape(a)), sql_literal(bytea_escape(c)), k)
            for a, (c, k) in items if not (is_ascii(a) and is_ascii(c))]
    if not rows:
        return
    out.write("\n-- Names outside ASCII, as their UTF-8 bytes in bytea's escape format: the\n"
              "-- script stays ASCII, so it reads the same in every database encoding.  A\n"
              "-- name the database encoding cannot hold (C with caron in LATIN1) could never\n"
              "-- match text stored there: its row is left out rather than failing CREATE\n"
              "-- EXTENSION.  In SQL_ASCII the UTF-8 bytes are stored as they are.\n"
              "DO $aliases$\n"
              "DECLARE\n"
              "    r record;\n"
              "BEGIN\n"
              "    FOR r IN SELECT v.alias, v.canonical, v.type FROM (VALUES\n")
    out.write(",\n".join(rows) + "\n")
    out.write("    ) AS v(alias, canonical, type) LOOP\n"
              "        BEGIN\n"
              "            INSERT INTO @extschema@.aa_entity_aliases (alias, canonical, type, shipped)\n"
              "            VALUES (pg_catalog.convert_from(r.alias::pg_catalog.bytea, 'UTF8'),\n"
              "                    pg_catalog.convert_from(r.canonical::pg_catalog.bytea, 'UTF8'),\n"
              "                    r.type, true);\n"
              "        EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire THEN\n"
              "            NULL;\n"
              "        END;\n"
              "    END LOOP;\n"
              "END\n"
              "$aliases$;\n")


if __name__ == "__main__":
    main()
