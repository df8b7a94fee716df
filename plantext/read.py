"""Read a plan document (.txt, .docx, .pdf) as text for `plantext.extract.propose_targets`.

- .txt: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.
- .docx: paragraphs and table cells in document order; each table cell (each paragraph of a cell)
  on its own line, so Word tables read like the web-flattened tables of the seed texts.
- .pdf: the text layer (pypdf); lines a PDF wrapped at the page width are joined again, and spaces
  some PDFs put between Chinese characters are removed.

Offsets of the proposals refer to the text returned here. Every failure a planner can fix raises
a `coverage.errors.PlanTextError` subclass with a Chinese message saying what is wrong and what to do.
"""
from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import Path

from coverage.errors import (
    EmptyDocumentError, EncryptedDocumentError, PlanTextError, ScannedPdfError, UnsupportedDocumentError,
)

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf")
MAX_BYTES = 50 * 1024 * 1024
#: A PDF whose text layer has fewer letters and digits than this per page on average, or in
#: total, is treated as a scan (page numbers alone do not make a text layer).
MIN_PDF_LETTERS_PER_PAGE = 5
MIN_PDF_LETTERS = 20
#: Share of decoded characters that must be ordinary text (CJK, ASCII, punctuation, whitespace).
MIN_TEXT_SHARE = 0.9
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WHAT_TO_UPLOAD = "请上传 .txt(UTF-8 或 GBK)、Word(.docx)或带文字的 PDF"
ORDINARY = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f\u00a0-\u00ff\x20-\x7e\s"
                      r"\u2160-\u217f\u2460-\u24ff\u3400-\u4dbf\u25a0-\u25ff\u2190-\u21ff\u2200-\u22ff]")
CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]) (?=[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef])")
SENTENCE_CLOSE = tuple("。!?;:!?;:")
#: A PDF line at least this share of the usual full line width, not ending a sentence, was wrapped.
FULL_LINE = 0.85


def read_plan_text(path_or_bytes: str | Path | bytes, filename: str | None = None) -> str:
    """
    The text of a plan document.

    Parameters
    ----------
    path_or_bytes
        A path, or the file's content (an upload).
    filename
        The file's name; its extension (.txt, .docx, .pdf) says how to read it. Defaults to the
        path's name.

    Returns
    -------
    text
        The document's text with "\\n" line ends; Word and PDF tables one cell per line.

    Raises
    ------
    ScannedPdfError, EncryptedDocumentError, UnsupportedDocumentError, EmptyDocumentError
        All `coverage.errors.PlanTextError`, with a Chinese message.
    """
    raw, name = _load(path_or_bytes, filename)
    kind = _kind(raw, name)
    text = {"txt": _read_txt, "docx": _read_docx, "pdf": _read_pdf}[kind](raw, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\f", "\n")
    if not text.strip():
        raise EmptyDocumentError(f"文件 {name} 中没有文字内容, 请检查是否上传了正确的文件。{WHAT_TO_UPLOAD}。")
    return text


def _load(path_or_bytes: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        raw = bytes(path_or_bytes)
        name = filename or "上传的文件"
    else:
        path = Path(path_or_bytes)
        name = filename or path.name
        try:
            if path.stat().st_size > MAX_BYTES:
                raise UnsupportedDocumentError(f"文件 {name} 超过 {MAX_BYTES // 1024 // 1024} MB, 请只上传规划正文。")
            raw = path.read_bytes()
        except OSError as err:
            raise PlanTextError(f"无法读取文件 {name}: {err.strerror or err}。请检查路径。") from err
    if len(raw) > MAX_BYTES:
        raise UnsupportedDocumentError(f"文件 {name} 超过 {MAX_BYTES // 1024 // 1024} MB, 请只上传规划正文。")
    if not raw.strip():
        raise EmptyDocumentError(f"文件 {name} 是空文件。{WHAT_TO_UPLOAD}。")
    return raw, name


def _kind(raw: bytes, name: str) -> str:
    """txt, docx or pdf, from the extension checked against the content."""
    suffix = Path(name).suffix.lower()
    if raw.startswith(OLE_MAGIC):
        if _ole_encrypted(raw):
            raise EncryptedDocumentError(f"文件 {name} 设置了打开密码(已加密), 无法读取。请在 Word/WPS 中取消密码"
                                         "(文件 → 信息 → 保护文档)后另存为 .docx 再上传。")
        raise UnsupportedDocumentError(f"文件 {name} 是旧版 Word/Excel 格式(.doc/.xls), 无法读取。"
                                       "请在 Word/WPS 中另存为 .docx 后上传。")
    if suffix not in SUPPORTED_SUFFIXES:
        what = "旧版 Word 文件(.doc)" if suffix == ".doc" else f"“{suffix or '无扩展名'}”文件"
        raise UnsupportedDocumentError(f"不支持{what}: {name}。{WHAT_TO_UPLOAD}。")
    if raw.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if raw[:4] == b"PK\x03\x04":
        return "docx"
    if suffix == ".pdf":
        raise UnsupportedDocumentError(f"文件 {name} 的扩展名是 .pdf, 但内容不是 PDF(可能已损坏)。请重新导出 PDF 后上传。")
    if suffix == ".docx":
        raise UnsupportedDocumentError(f"文件 {name} 的扩展名是 .docx, 但内容不是 Word 文档(可能已损坏或被改了扩展名)。"
                                       "请在 Word/WPS 中重新另存为 .docx 后上传。")
    return "txt"


def _ole_encrypted(raw: bytes) -> bool:
    """An encrypted Office file is an OLE container with EncryptedPackage / EncryptionInfo streams."""
    return any(word.encode("utf-16-le") in raw for word in ("EncryptedPackage", "EncryptionInfo"))


def _read_txt(raw: bytes, name: str) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encodings = ("utf-16",)
    else:
        if b"\x00" in raw:
            raise UnsupportedDocumentError(f"文件 {name} 不是文本文件(含二进制内容)。{WHAT_TO_UPLOAD}。")
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise UnsupportedDocumentError(f"无法识别文件 {name} 的文字编码, 或它不是文本文件。"
                                   f"请另存为 UTF-8 文本, 或上传 Word(.docx)/带文字的 PDF。")


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample.strip():
        return True
    ordinary = len(ORDINARY.findall(sample))
    return ordinary / len(sample) >= MIN_TEXT_SHARE


def _read_docx(raw: bytes, name: str) -> str:
    from docx import Document  # noqa: PLC0415 (python-docx is only needed for Word files)
    from docx.opc.exceptions import PackageNotFoundError  # noqa: PLC0415
    from lxml.etree import LxmlError  # noqa: PLC0415 (python-docx parses with lxml)

    try:
        document = Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as err:
        raise UnsupportedDocumentError(f"文件 {name} 不是有效的 Word(.docx)文件, 无法打开({err.__class__.__name__})。"
                                       "请在 Word/WPS 中重新另存为 .docx 后上传。") from err
    except LxmlError as err:
        raise UnsupportedDocumentError(f"文件 {name} 的内容已损坏, 无法读取。请在 Word/WPS 中重新另存为 .docx 后上传。") from err
    return "\n".join(_block_lines(document.element.body, document))


def _block_lines(element, document) -> list[str]:  # noqa: ANN001 (docx XML element, Document)
    """Paragraphs and tables under a body (or a content control) in document order."""
    from docx.table import Table  # noqa: PLC0415
    from docx.text.paragraph import Paragraph  # noqa: PLC0415

    lines: list[str] = []
    for child in element.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            lines.extend(_table_lines(Table(child, document)))
        elif tag in ("sdt", "sdtContent"):  # content controls wrap ordinary paragraphs and tables
            lines.extend(_block_lines(child, document))
    return lines


def _table_lines(table) -> list[str]:  # noqa: ANN001 (docx.table.Table)
    """Each cell's paragraphs on their own lines, row by row; a merged cell once."""
    out: list[str] = []
    seen: set = set()  # the cells' XML elements, kept alive so merged cells compare equal
    for row in table.rows:
        for cell in row.cells:
            if cell._tc in seen:  # noqa: SLF001 (a merged cell repeats the same element)
                continue
            seen.add(cell._tc)  # noqa: SLF001
            texts = [p.text.strip() for p in cell.paragraphs if p.text.strip()]
            out.extend(texts or [""])
            for inner in cell.tables:
                out.extend(_table_lines(inner))
    return out


def _read_pdf(raw: bytes, name: str) -> str:
    from pypdf import PdfReader  # noqa: PLC0415
    from pypdf.errors import DependencyError, PdfReadError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError, PdfReadError):
                opened = 0
            if not opened:
                raise EncryptedDocumentError(f"PDF 文件 {name} 设置了打开密码(已加密), 无法读取。"
                                             "请用原文件另存为不加密的 PDF, 或上传 Word/文本。")
        _fix_identity_cmaps(reader)
        pages = [page.extract_text() or "" for page in reader.pages]
    except PlanTextError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise UnsupportedDocumentError(f"PDF 文件 {name} 已损坏或无法解析({err.__class__.__name__})。"
                                       "请重新导出 PDF, 或上传 Word/文本。") from err
    letters = sum(len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", p)) for p in pages)
    if letters < MIN_PDF_LETTERS_PER_PAGE * len(pages) or letters < MIN_PDF_LETTERS:
        raise ScannedPdfError(f"PDF 文件 {name} 没有文字层(可能是扫描件), 请上传带文字的 PDF 或 Word/文本。")
    return _join_wrapped("\n".join(CJK_GAP.sub("", p) for p in pages))


def _fix_identity_cmaps(reader) -> None:  # noqa: ANN001 (pypdf.PdfReader)
    """Some writers (e.g. fpdf2 with OpenType/CFF fonts) embed the Identity-H CMap as a stream,
    which pypdf decodes byte by byte; naming it /Identity-H is equivalent and reads correctly."""
    from pypdf.generic import NameObject  # noqa: PLC0415

    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.values():
            font = ref.get_object()
            encoding = font.get("/Encoding")
            if font.get("/Subtype") != "/Type0" or encoding is None or isinstance(encoding, NameObject):
                continue
            stream = encoding.get_object()
            cmap = str(stream.get("/CMapName", ""))
            if "Identity" in cmap:
                vertical = cmap.endswith("-V") or stream.get("/WMode") == 1
                font[NameObject("/Encoding")] = NameObject("/Identity-V" if vertical else "/Identity-H")


def _width(line: str) -> int:
    return sum(2 if ord(ch) > 0x2e80 else 1 for ch in line)


def _join_wrapped(text: str) -> str:
    """Join lines a PDF wrapped at the page width: a line nearly as wide as the widest lines that
    does not end a sentence continues on the next line."""
    lines = text.split("\n")
    widths = sorted(_width(line.strip()) for line in lines if line.strip())
    if len(widths) < 5:
        return text
    full = widths[int(len(widths) * 0.9)]
    if full < 40:
        return text
    out: list[str] = []
    joining = False
    for line in lines:
        stripped = line.strip()
        if joining and out and stripped:
            out[-1] += stripped
        else:
            out.append(stripped)
        joining = _width(stripped) >= FULL_LINE * full and not stripped.endswith(SENTENCE_CLOSE)
    return "\n".join(out)
