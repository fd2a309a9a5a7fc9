#!/usr/bin/env python3
"""Prepare one language's entity data from ../shared for aa_train.

    prep_ner_data.py LANG SHARED_DIR OUT_DIR AA_TRAIN

Reads ../shared/data/ner_multilingual/LANG/ and writes CoNLL files
("token TAG", a space between them so that aa_train keeps the corpus's own
sentences, a blank line after each sentence, -DOCSTART- between
documents) to OUT_DIR:

  es  train.conll, dev.conll: CoNLL-2002 Spanish has no document marks;
      a new document starts at each EFE dateline ("Santander , 25 may
      ( EFE ) ."), so that the tagger's document-level features see one
      article at a time, as aa_entities does.
  nl  train.conll, dev.conll: as given (De Morgen articles, -DOCSTART-).
  pt  train.conll, dev.conll: the sentences of train.text / dev.text
      tokenized by the extension's tokenizer (AA_TRAIN tokenize), each
      Universal NER entity carried over from the treebank's split tokens
      ("em a Alemanha") to the surface tokens ("na Alemanha") by a
      character alignment, so that the tagger learns and is scored on the
      text it will be given; dev_ud.conll is the treebank's own dev file.
  de  train.conll: WikiANN train, each sentence a document of its own
      (they are unrelated Wikipedia sentences), without the redirect
      lines ("WEITERLEITUNG ..."), each entity ended before a bracket,
      colon or quote inside it (see CUT_TOKENS); dev.conll: WikiANN dev;
      germeval_dev.conll: GermEval 2014 dev (gold) with MISC read as O,
      since the model knows PER, LOC and ORG only (the issue's target is
      on those three).

The output depends on nothing but the input: the same data gives the same
files, and so the same model.
"""
import difflib
import os
import re
import subprocess
import sys


def read_conll(path):
    """Documents of sentences of (token, tag) from a CoNLL file."""
    docs = [[]]
    sent = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line.startswith("-DOCSTART-"):
                if sent:
                    docs[-1].append(sent)
                    sent = []
                if docs[-1]:
                    docs.append([])
                continue
            if not line.strip():
                if sent:
                    docs[-1].append(sent)
                    sent = []
                continue
            parts = line.split()
            sent.append((parts[0], parts[-1]))
    if sent:
        docs[-1].append(sent)
    return [d for d in docs if d]


def write_conll(path, docs):
    """Write documents of sentences of (token, tag)."""
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write("-DOCSTART- -X- O O\n\n")
            for sent in doc:
                for tok, tag in sent:
                    f.write("%s %s\n" % (tok, tag))
                f.write("\n")


def split_at_datelines(docs):
    """Start a new document at each sentence holding an EFE dateline."""
    out = []
    for doc in docs:
        cur = []
        for sent in doc:
            head = " ".join(t for t, _ in sent[:15])
            if "( EFE )" in head and cur:
                out.append(cur)
                cur = []
            cur.append(sent)
        if cur:
            out.append(cur)
    return out


def spans_of(tags):
    """Entity spans (first, end, type) of IOB2 tags (a stray I- starts one)."""
    spans = []
    start = None
    typ = None
    for i, tag in enumerate(tags + ["O"]):
        if tag == "O" or tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != typ):
            if start is not None:
                spans.append((start, i, typ))
                start = None
                typ = None
            if tag != "O":
                start = i
                typ = tag[2:]
    return spans


def align_sentence(ud, surface):
    """IOB2 tags for the surface tokens from the UD tokens' entities."""
    ud_text = "".join(t for t, _ in ud)
    sf_text = "".join(surface)
    ud_start = []
    pos = 0
    for tok, _ in ud:
        ud_start.append(pos)
        pos += len(tok)
    sf_of_char = []
    for k, tok in enumerate(surface):
        sf_of_char.extend([k] * len(tok))
    # ud character -> surface character, over the matching blocks
    ud_to_sf = {}
    matcher = difflib.SequenceMatcher(None, ud_text, sf_text, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for j in range(size):
            ud_to_sf[a + j] = b + j
    tags = ["O"] * len(surface)
    for first, end, typ in spans_of([t for _, t in ud]):
        c0 = ud_start[first]
        c1 = ud_start[end - 1] + len(ud[end - 1][0])
        mapped = [ud_to_sf[c] for c in range(c0, c1) if c in ud_to_sf]
        if not mapped:
            continue
        s0 = sf_of_char[mapped[0]]
        s1 = sf_of_char[mapped[-1]] + 1
        if any(tags[k] != "O" for k in range(s0, s1)):
            continue
        tags[s0] = "B-" + typ
        for k in range(s0 + 1, s1):
            tags[k] = "I-" + typ
    return tags


def surface_docs(conll_path, text_path, aa_train):
    """The treebank's documents, re-tokenized from the original sentences."""
    docs = read_conll(conll_path)
    with open(text_path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    nsent = sum(len(d) for d in docs)
    if len(lines) != nsent:
        sys.exit("prep_ner_data: %s has %d lines for %d sentences" % (text_path, len(lines), nsent))
    out = subprocess.run([aa_train, "tokenize"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    i = 0
    result = []
    lost = 0
    total = 0
    for doc in docs:
        new_doc = []
        for sent in doc:
            surface = [t for t in out[i].split("\t") if t]
            i += 1
            if not surface:
                continue
            tags = align_sentence(sent, surface)
            total += len(spans_of([t for _, t in sent]))
            lost += len(spans_of([t for _, t in sent])) - len(spans_of(tags))
            new_doc.append(list(zip(surface, tags)))
        if new_doc:
            result.append(new_doc)
    sys.stderr.write("prep_ner_data: %s: %d of %d entities not carried over to the surface tokens\n"
                     % (os.path.basename(text_path), lost, total))
    return result


def one_per_document(docs, drop=None, misc_as_o=False):
    """Every sentence its own document, optionally filtered and retagged."""
    out = []
    for doc in docs:
        for sent in doc:
            if drop and drop(sent):
                continue
            if misc_as_o:
                sent = [(t, "O" if tag.endswith("MISC") else tag) for t, tag in sent]
            out.append([sent])
    return out


# Tokens at which a WikiANN span is cut: its spans are link texts, which
# carry Wikipedia's disambiguation in brackets ("Hohenfels ( bei
# Stockach )", "Nakhon Pathom ( Provinz )") and the like; running text
# names the entity without them.
CUT_TOKENS = {"(", ")", "[", "]", ":", '"', "|", "„", "“", "”"}


def cut_spans(sent):
    """End each entity before its first bracket, colon or quote."""
    out = []
    inside = False
    for tok, tag in sent:
        if tag == "O" or tag.startswith("B-"):
            inside = False
        if tag != "O" and tok in CUT_TOKENS:
            inside = True
        out.append((tok, "O" if inside else tag))
    return out


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    lang, shared, out_dir, aa_train = sys.argv[1:]
    src = os.path.join(shared, "data", "ner_multilingual", lang)
    os.makedirs(out_dir, exist_ok=True)
    if lang == "es":
        for split in ("train", "dev"):
            write_conll(os.path.join(out_dir, split + ".conll"),
                        split_at_datelines(read_conll(os.path.join(src, split + ".conll"))))
    elif lang == "nl":
        for split in ("train", "dev"):
            write_conll(os.path.join(out_dir, split + ".conll"),
                        read_conll(os.path.join(src, split + ".conll")))
    elif lang == "pt":
        for split in ("train", "dev"):
            write_conll(os.path.join(out_dir, split + ".conll"),
                        surface_docs(os.path.join(src, split + ".conll"),
                                     os.path.join(src, split + ".text"), aa_train))
        write_conll(os.path.join(out_dir, "dev_ud.conll"), read_conll(os.path.join(src, "dev.conll")))
    elif lang == "de":
        redirect = re.compile(r"^weiterleitung$", re.IGNORECASE)
        train = one_per_document(read_conll(os.path.join(src, "train.conll")),
                                 drop=lambda s: any(redirect.match(t) for t, _ in s))
        write_conll(os.path.join(out_dir, "train.conll"), [[cut_spans(d[0])] for d in train])
        write_conll(os.path.join(out_dir, "dev.conll"),
                    one_per_document(read_conll(os.path.join(src, "dev.conll"))))
        write_conll(os.path.join(out_dir, "germeval_dev.conll"),
                    one_per_document(read_conll(os.path.join(src, "germeval_dev.conll")),
                                     misc_as_o=True))
    else:
        sys.exit("prep_ner_data: no entity data for language %r" % lang)


if __name__ == "__main__":
    main()
