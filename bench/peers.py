"""The baselines newsingest is measured against, each a plain loop over the same URLs or pages.

``python -m bench.peers newspaper4k|trafilatura URLFILE`` downloads and parses every URL of URLFILE
(one per line) in this process and prints one JSON line: articles parsed, failures, seconds. It runs
as a subprocess so that its wall time and peak memory are measured like newsingest's.
``bare_extract_loop`` is the cost floor: ``trafilatura.extract`` on HTML read from disk, no I/O.

Neither peer may touch the internet: newspaper4k is told not to fetch images and tldextract not to
download the public-suffix list (it falls back to its bundled snapshot); trafilatura's SSRF guard
is switched off only because every URL here is on loopback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence

__all__ = ["bare_extract_loop", "main", "newspaper4k_loop", "trafilatura_loop"]


def bare_extract_loop(html_pages: Iterable[bytes]) -> tuple[int, int]:
    """``trafilatura.extract`` with its defaults on each page; returns (with text, without)."""
    import trafilatura

    ok = failed = 0
    for html in html_pages:
        if trafilatura.extract(html):
            ok += 1
        else:
            failed += 1
    return ok, failed


def newspaper4k_loop(urls: Sequence[str]) -> tuple[int, int]:
    """newspaper4k's own download + parse per URL, with its defaults except network-reaching extras."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # snapshot only: no download of the PSL
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)
    from newspaper import Article, Config

    config = Config()
    config.fetch_images = False  # would fetch every image URL of the page (third-party hosts)
    config.memorize_articles = False
    ok = failed = 0
    for url in urls:
        try:
            article = Article(url, config=config)
            article.download()
            article.parse()
            ok, failed = (ok + 1, failed) if article.text else (ok, failed + 1)
        except Exception:  # noqa: BLE001 - a peer's failure on one URL is counted, not fatal
            failed += 1
    return ok, failed


def trafilatura_loop(urls: Sequence[str]) -> tuple[int, int]:
    """trafilatura's ``fetch_url`` + ``extract`` per URL (its downloader, its defaults)."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "SSRF_PROTECTION", "off")  # it refuses loopback otherwise
    ok = failed = 0
    for url in urls:
        html = trafilatura.fetch_url(url, config=config)
        if html and trafilatura.extract(html, url=url, config=config):
            ok += 1
        else:
            failed += 1
    return ok, failed


_PEERS: dict[str, Callable[[Sequence[str]], tuple[int, int]]] = {
    "newspaper4k": newspaper4k_loop,
    "trafilatura": trafilatura_loop,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in _PEERS:
        print(f"usage: python -m bench.peers {{{'|'.join(_PEERS)}}} URLFILE", file=sys.stderr)
        return 2
    with open(args[1], encoding="utf-8") as handle:
        urls = [line.strip() for line in handle if line.strip()]
    started = time.perf_counter()
    ok, failed = _PEERS[args[0]](urls)
    print(json.dumps({"peer": args[0], "urls": len(urls), "ok": ok, "failed": failed,
                      "seconds": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
