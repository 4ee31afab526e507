import io

import segno


def qr_svg(url: str, *, scale: int = 6) -> str:
    """An inline SVG QR code for a Payment Link URL (error correction M: survives a smudged print)."""
    return segno.make(url, error="m").svg_inline(scale=scale, dark="#111", light="#fff", border=2, omitsize=True)


def qr_svg_document(url: str, *, scale: int = 6) -> str:
    """The same QR code as a standalone SVG file: with the SVG namespace and a size, without which a
    browser shows it as an XML tree and an <img> shows nothing."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=scale, dark="#111", light="#fff", border=2,
                                    xmldecl=False)
    return buffer.getvalue().decode()
