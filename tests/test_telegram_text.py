import html

from hypothesis import given, strategies as st

from handlers.telegram_text import MAX_TEXT, caption, html_chunks


def test_short_text_is_one_escaped_chunk():
    assert html_chunks("P/L <b> & fees") == ["P/L &lt;b&gt; &amp; fees"]
    assert html_chunks("a\nb", monospace=True) == ["<pre>a\nb</pre>"]


def test_long_text_splits_on_line_boundaries():
    lines = [f"line {i:04d} " + "x" * 80 for i in range(200)]
    chunks = html_chunks("\n".join(lines))
    assert len(chunks) > 1 and all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n".join(chunks).splitlines() == lines  # nothing lost, nothing cut mid-line


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(["<", ">", "&", "\n"]),
               max_size=12000), st.booleans())
def test_chunks_fit_and_unescape_to_the_original(text, monospace):
    chunks = html_chunks(text, monospace)
    assert all(len(c) <= MAX_TEXT for c in chunks)
    bodies = [c.removeprefix("<pre>").removesuffix("</pre>") if monospace else c for c in chunks]
    restored = "".join(html.unescape(b) for b in bodies if b != "(empty)")
    assert restored.replace("\n", "") == "".join(text.splitlines())


def test_captions_are_cut_to_1024():
    assert len(caption("<" * 2000)) <= 1024


def test_a_summary_counts_tokens_not_fills():
    """A Binance market order can fill in several pieces; the summary names each token once."""
    from datetime import datetime, timezone
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from handlers.texts import summary
    from tradingbot.core.domain import Fill, RebalanceRow, RebalanceSummary, Side

    at = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    row = RebalanceRow(1, "S20261124T0900", "scheduled", "done", at, at, "momentum", "full", ("LUJAUSDT", "ABCUSDT"),
                       Decimal(100), Decimal(99), Decimal(100), Decimal("0.1"), None, "")

    def fill(symbol: str, trade: str) -> Fill:
        return Fill(f"S-B-{symbol}", symbol, Side.BUY, Decimal(1), Decimal(1), Decimal("0.001"), symbol[:-4],
                    Decimal("0.001"), at, trade)

    fills = (fill("LUJAUSDT", "1"), fill("LUJAUSDT", "2"), fill("ABCUSDT", "3"))
    text = summary(RebalanceSummary(row, Decimal(99), fills=fills), "USDT", ZoneInfo("UTC"))
    assert "Bought 2: LUJA, ABC" in text and "Sold 0: —" in text
