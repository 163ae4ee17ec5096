"""Bad files through the admin import: each is refused with a message on the page, never a 500, nothing written.

Decisions the tests pin down:

* Non-UTF-8 CSV (GBK / GB18030, as Chinese Excel saves "CSV") is refused with a message asking for UTF-8 or
  XLSX — not guessed: a wrong guess would store mojibake without a word.
* A column the resource does not know (a typo such as ``titel``, a private notes column) refuses the file,
  naming the column and listing the known ones: silently ignoring it would silently drop the data under a
  misspelt header. Missing ``bank`` / ``code`` and a column given twice refuse the file the same way.
* Files over 5 MB (``IMPORT_MAX_BYTES``; uploaded files are not counted by ``DATA_UPLOAD_MAX_MEMORY_SIZE``)
  and files of more than ``IMPORT_MAX_ROWS`` rows are refused before any row is read.
* Formula-looking cells are stored as typed; the export prefixes them with an apostrophe (CSV and XLSX: no live
  formula), and the import takes that apostrophe off again, so export → import round-trips.
"""

import csv
import html
import io

import openpyxl
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerships.admin.initiative import IMPORT_MAX_BYTES
from partnerships.models import Initiative, InitiativePartner, TechPartner
from partnerships.resources import IMPORT_MAX_ROWS
from tests.factories import InitiativeFactory, TechPartnerFactory

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"
COLUMNS = [
    "bank",
    "code",
    "title",
    "pillar",
    "scenario_types",
    "partners",
    "status",
    "start_date",
    "end_date",
]
HEADER = ",".join(COLUMNS) + "\n"
GOOD_ROW = "bank-a,ok-1,微信支付联名卡,scenario,payment,tencent:lead,pilot,2024-01-01,2024-12-31\n"
FORMULA = "=cmd|' /C calc'!A0"
EXPORT_FIELDS = ["bank", "code", "title", "description", "pillar", "partners", "status", "start_date"]


# --- helpers ------------------------------------------------------------------------------------------------


@pytest.fixture
def analyst(two_banks, client_for):
    """Bank A's analyst, signed in; the admin answers in English so messages can be asserted."""
    _banks, users = two_banks
    TechPartnerFactory(key="tencent")
    TechPartnerFactory(key="alibaba")
    client = client_for(users[("A", "analyst")])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _upload(content: bytes, name: str = "initiatives.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/octet-stream")


def _xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _import(client, upload, fmt: str = CSV_FORMAT):
    response = client.post(
        reverse("admin:partnerships_initiative_import"),
        {"resource": "0", "format": fmt, "import_file": upload},
    )
    assert response.status_code == 200, response.status_code
    return response


def _confirm(client, response):
    confirm = response.context.get("confirm_form")
    assert confirm is not None, _describe(response)
    return client.post(reverse("admin:partnerships_initiative_process_import"), confirm.initial)


def _describe(response) -> str:
    """What the import page says went wrong (for assertion messages)."""
    result = response.context.get("result")
    form = response.context.get("form")
    return repr(
        {
            "form": dict(form.errors) if form else None,
            "base": [str(e.error) for e in result.base_errors] if result else None,
            "invalid": [(r.number, r.error.message_dict) for r in result.invalid_rows] if result else None,
            "errors": [(n, [repr(e.error) for e in errs]) for n, errs in result.row_errors()]
            if result
            else None,
        }
    )


def _page_text(response) -> str:
    return html.unescape(response.content.decode())


def _assert_refused(response, *messages: str) -> None:
    """No confirm step is offered, each message is on the page, no traceback is, and nothing was written."""
    assert not response.context.get("confirm_form")
    page = _page_text(response)
    for message in messages:
        assert message in page, f"{message!r} not on the page"
    assert "Traceback" not in page and 'File "/' not in page
    assert not Initiative.objects.exists()
    assert not InitiativePartner.objects.exists()


def _form_errors(response) -> list[str]:
    return response.context["form"].errors.get("import_file", [])


def _invalid_fields(response) -> dict[int, set[str]]:
    return {row.number: set(row.error.message_dict) for row in response.context["result"].invalid_rows}


def _messages(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def _export(client, fmt: str) -> bytes:
    response = client.post(
        reverse("admin:partnerships_initiative_export"),
        {"format": fmt, "resource": "0", **{f"initiativeresource_{f}": "on" for f in EXPORT_FIELDS}},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    return response.content


# --- files that cannot be read ----------------------------------------------------------------------------

NOT_UTF8 = "This file is not UTF-8 text"
NOT_XLSX = "This file is not an XLSX workbook"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16


@pytest.mark.parametrize(
    ("content", "name", "fmt", "message"),
    [
        pytest.param(
            (HEADER + "bank-a,gbk-1,微信支付联名卡,scenario,payment,,pilot,,\n").encode("gb18030"),
            "initiatives.csv",
            CSV_FORMAT,
            NOT_UTF8,
            id="gb18030-csv",
        ),
        pytest.param(
            (HEADER + "bank-a,gbk-2,智能客服,scenario,payment,,pilot,,\n").encode("gbk"),
            "initiatives.csv",
            CSV_FORMAT,
            NOT_UTF8,
            id="gbk-csv",
        ),
        pytest.param(BINARY, "initiatives.csv", CSV_FORMAT, NOT_UTF8, id="binary-named-csv"),
        pytest.param(
            (HEADER + GOOD_ROW).encode(), "initiatives.xlsx", XLSX_FORMAT, NOT_XLSX, id="csv-named-xlsx"
        ),
        pytest.param(BINARY, "initiatives.xlsx", XLSX_FORMAT, NOT_XLSX, id="random-bytes-xlsx"),
        pytest.param(
            (HEADER + "bank-a,r-1,x,scenario,payment,,pilot,,,surplus,cells\n").encode(),
            "initiatives.csv",
            CSV_FORMAT,
            "A row has more cells than the header row",
            id="ragged-csv",
        ),
        pytest.param(b"", "initiatives.csv", CSV_FORMAT, "The submitted file is empty.", id="empty"),
        pytest.param(
            HEADER.encode(), "initiatives.csv", CSV_FORMAT, "No valid data to import", id="header-only"
        ),
    ],
)
def test_unreadable_file_is_a_form_error(analyst, content, name, fmt, message):
    response = _import(analyst, _upload(content, name), fmt)
    assert any(message in str(error) for error in _form_errors(response)), _form_errors(response)
    _assert_refused(response, message)


def test_gb18030_file_asks_for_utf8_or_xlsx_and_the_utf8_one_imports(analyst):
    text = HEADER + "bank-a,gbk-1,微信支付联名卡 · 第二期,scenario,payment,,pilot,,\n"
    refused = _import(analyst, _upload(text.encode("gb18030")))
    _assert_refused(refused, NOT_UTF8, "CSV UTF-8", "XLSX")
    # The same content saved as UTF-8 (with Excel's BOM) goes through.
    accepted = _import(analyst, _upload(text.encode("utf-8-sig")))
    assert _confirm(analyst, accepted).status_code == 302
    assert Initiative.objects.get(code="gbk-1").title == "微信支付联名卡 · 第二期"


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_file_over_the_size_cap_is_refused_before_it_is_read(analyst, fmt):
    # Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count uploaded files, so the admin has its own cap.
    assert IMPORT_MAX_BYTES >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    row = "bank-a,big-{:07d},{},scenario,payment,,pilot,,\n"
    body = HEADER + "".join(row.format(i, "很长的标题" * 10) for i in range(IMPORT_MAX_BYTES // 150 + 10))
    content = body.encode()
    assert len(content) > IMPORT_MAX_BYTES
    name = "initiatives.xlsx" if fmt == XLSX_FORMAT else "initiatives.csv"
    response = _import(analyst, _upload(content, name), fmt)
    assert any("import files of at most 5.0" in str(e) for e in _form_errors(response)), _form_errors(
        response
    )
    _assert_refused(response, "split it into several files")
    assert response.context.get("result") is None  # refused by the form: no row was looked at


# --- files refused whole by their columns or size --------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        pytest.param(
            "title,pillar,status\n没有银行,scenario,idea\n",
            ["Required columns missing: bank, code."],
            id="no-bank-no-code",
        ),
        pytest.param(
            "bank,title,pillar,status\nbank-a,没有编号,scenario,idea\n",
            ["Required columns missing: code."],
            id="no-code",
        ),
        pytest.param(
            HEADER.strip() + ",colour\n" + GOOD_ROW.strip() + ",red\n",
            ["Unknown columns “colour”", "the columns are: bank, code, title, description"],
            id="extra-column",
        ),
        pytest.param(
            "bank,code,titel,pillar,status\nbank-a,typo-1,错拼的列名,scenario,idea\n",
            ["Unknown columns “titel”"],
            id="misspelt-column",
        ),
        pytest.param(
            "bank,code,title,title,pillar,status\nbank-a,d-1,甲,乙,scenario,idea\n",
            ["Columns given twice: title."],
            id="column-twice",
        ),
        pytest.param(
            "bank;code;title\nbank-a;s-1;分号分隔\n",
            ["Required columns missing: bank, code.", "Unknown columns “bank;code;title”"],
            id="semicolon-separated",
        ),
    ],
)
def test_file_with_wrong_columns_is_refused_whole(analyst, content, messages):
    response = _import(analyst, _upload(content.encode()))
    result = response.context["result"]
    assert result.has_errors() and not result.rows  # refused before any row was read
    _assert_refused(response, *messages)


def test_extra_column_in_xlsx_is_refused_but_empty_trailing_headers_are_not(analyst):
    rows = [
        [*COLUMNS, None],
        ["bank-a", "x-1", "好", "scenario", "payment", "tencent:lead", "pilot", None, None],
    ]
    ok = _import(analyst, _upload(_xlsx(rows), "i.xlsx"), XLSX_FORMAT)
    assert ok.context["confirm_form"] is not None
    rows[0][-1] = "备注"
    refused = _import(analyst, _upload(_xlsx(rows), "i.xlsx"), XLSX_FORMAT)
    _assert_refused(refused, "Unknown columns “备注”")


def test_too_many_rows_is_refused_before_any_row_is_read(analyst):
    row = "bank-a,many-{},标题,scenario,payment,,pilot,,\n"
    content = (HEADER + "".join(row.format(i) for i in range(IMPORT_MAX_ROWS + 1))).encode()
    assert len(content) < IMPORT_MAX_BYTES
    response = _import(analyst, _upload(content))
    assert not response.context["result"].rows
    _assert_refused(response, f"The file has {IMPORT_MAX_ROWS + 1} rows; import at most {IMPORT_MAX_ROWS}")


# --- wrongly typed cells: every bad row and field is named ------------------------------------------------

TYPED_COLUMNS = [*COLUMNS, "security_assessment_done"]


def _typed_rows() -> list[list]:
    return [
        TYPED_COLUMNS,
        ["bank-a", "t-1", "坏日期", "scenario", "payment", "", "pilot", "2024-13-45", "", "1"],
        ["bank-a", "t-2", "坏布尔", "scenario", "payment", "", "pilot", "", "", "maybe"],
        ["bank-a", "t-3", "坏状态", "scenario", "payment", "", "finished", "", "", "0"],
        [
            "bank-a",
            "t-4",
            "好的一行",
            "scenario",
            "payment",
            "tencent:lead",
            "pilot",
            "2024-01-01",
            "",
            "true",
        ],
    ]


def _typed_csv() -> bytes:
    return "".join(",".join(row) + "\n" for row in _typed_rows()).encode()


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_wrongly_typed_cells_are_row_errors(analyst, fmt):
    upload = _upload(_typed_csv()) if fmt == CSV_FORMAT else _upload(_xlsx(_typed_rows()), "i.xlsx")
    response = _import(analyst, upload, fmt)
    assert _invalid_fields(response) == {
        1: {"start_date"},
        2: {"security_assessment_done"},
        3: {"status"},
    }
    _assert_refused(
        response,
        "Some rows failed to validate",
        "Value could not be parsed using defined formats.",
        "“maybe” is not a yes/no value",
        "Value 'finished' is not a valid choice.",
    )


def test_a_status_jump_on_update_is_refused_as_in_the_admin_form(analyst, two_banks):
    banks, _users = two_banks
    retired = InitiativeFactory(bank=banks["A"], code="old-1", title="已退出", status="retired")
    content = (HEADER + "bank-a,old-1,已退出,scenario,payment,,idea,,\n").encode()
    response = _import(analyst, _upload(content))
    assert _invalid_fields(response) == {1: {"status"}}
    page = _page_text(response)
    assert "cannot go from “Retired” to “Idea”" in page and not response.context.get("confirm_form")
    retired.refresh_from_db()
    assert retired.status == "retired"


def test_xlsx_with_empty_optional_cells_imports(analyst):
    """An empty XLSX cell is None (a CSV's is ""): description once went to the database as NULL, and the page
    showed the IntegrityError with the row's contents."""
    columns = [*COLUMNS, "description", "lawful_basis", "transfer_mechanism"]
    row = [
        "bank-a",
        "x-1",
        "空的说明",
        "scenario",
        "payment",
        "tencent:lead",
        "pilot",
        None,
        None,
        None,
        None,
        None,
    ]
    response = _import(analyst, _upload(_xlsx([columns, row]), "i.xlsx"), XLSX_FORMAT)
    assert "Failing row contains" not in _page_text(response)  # the database's words never reach the page
    assert _confirm(analyst, response).status_code == 302
    assert Initiative.objects.get(code="x-1").description == ""


def test_xlsx_formula_cell_is_never_stored_as_a_formula(analyst):
    # A formula typed in a workbook is read as its cached value (openpyxl, data_only); a file written by a
    # program has none, so the title is empty and the row is refused rather than stored as "=…".
    row = ["bank-a", "x-1", '=HYPERLINK("http://evil.example","点我")', "scenario", "payment", "", "idea"]
    response = _import(analyst, _upload(_xlsx([COLUMNS[:7], row]), "i.xlsx"), XLSX_FORMAT)
    assert _invalid_fields(response) == {1: {"title"}}
    _assert_refused(response, "This field cannot be blank.")


# --- the confirm step stays all-or-nothing and never answers 500 ------------------------------------------


def test_confirming_twice_is_a_message_not_a_500(analyst):
    preview = _import(analyst, _upload((HEADER + GOOD_ROW).encode()))
    assert _confirm(analyst, preview).status_code == 302
    again = _confirm(analyst, preview)  # double click, or the back button and "Confirm" again
    assert again.status_code == 302 and again["Location"] == reverse("admin:partnerships_initiative_import")
    assert "no longer available" in _messages(again)
    assert Initiative.objects.count() == 1 and InitiativePartner.objects.count() == 1


def test_a_row_that_breaks_between_preview_and_confirm_rolls_back_the_whole_file(analyst):
    content = HEADER + GOOD_ROW + "bank-a,ok-2,阿里合作,scenario,payment,alibaba:lead,pilot,,\n"
    preview = _import(analyst, _upload(content.encode()))
    assert preview.context["confirm_form"] is not None
    TechPartner.objects.filter(key="alibaba").delete()  # meanwhile, someone removes a partner row 2 names
    done = _confirm(analyst, preview)
    assert done.status_code == 302 and done["Location"] == reverse("admin:partnerships_initiative_import")
    text = _messages(done)
    assert "Nothing was imported" in text and "Import finished" not in text
    assert not Initiative.objects.exists()
    assert not InitiativePartner.objects.exists()


# --- formulae: stored as text, never exported as a live formula -------------------------------------------

DANGEROUS = {
    "f-1": FORMULA,
    "f-2": "+1+2",
    "f-3": "-2+3",
    "f-4": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def _formula_csv() -> bytes:
    rows = [["bank", "code", "title", "description", "pillar", "status"]]
    rows += [["bank-a", code, title, title, "scenario", "idea"] for code, title in DANGEROUS.items()]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_formula_cells_import_as_text_and_export_escaped(analyst):
    assert _confirm(analyst, _import(analyst, _upload(_formula_csv()))).status_code == 302
    stored = dict(Initiative.objects.values_list("code", "title"))
    assert stored == DANGEROUS  # stored exactly as typed: it is text

    exported = list(csv.DictReader(io.StringIO(_export(analyst, CSV_FORMAT).decode("utf-8-sig"))))
    for row in exported:
        for column in ("title", "description"):
            assert row[column.capitalize()] == "'" + DANGEROUS[row["Code"]]  # a spreadsheet shows it as text

    book = openpyxl.load_workbook(io.BytesIO(_export(analyst, XLSX_FORMAT)))
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no live formula anywhere
    titles = {c.value for c in cells if isinstance(c.value, str) and "cmd" in c.value}
    assert titles == {"'" + FORMULA, "'" + DANGEROUS["f-4"]}


def test_exported_formula_cells_import_back_unchanged(analyst):
    assert _confirm(analyst, _import(analyst, _upload(_formula_csv()))).status_code == 302
    for fmt, name in ((CSV_FORMAT, "export.csv"), (XLSX_FORMAT, "export.xlsx")):
        again = _import(analyst, _upload(_export(analyst, fmt), name), fmt)
        assert _confirm(analyst, again).status_code == 302
        assert dict(Initiative.objects.values_list("code", "title")) == DANGEROUS


# --- Chinese and emoji round-trip -------------------------------------------------------------------------

UNICODE_TITLES = {
    "u-1": "微信支付联名卡 · 第二期（试点）",
    "u-2": "智能客服 😀🚀 — 全渠道",
    "u-3": "𠀀𪚥 扩展汉字 & “引号”, 逗号",
}


def test_chinese_and_emoji_round_trip_through_import_and_export(analyst):
    rows = [HEADER.strip()] + [
        f'bank-a,{code},"{title.replace(chr(34), chr(34) * 2)}",scenario,payment,tencent:lead,pilot,,'
        for code, title in UNICODE_TITLES.items()
    ]
    assert _confirm(analyst, _import(analyst, _upload("\n".join(rows).encode("utf-8")))).status_code == 302
    assert dict(Initiative.objects.values_list("code", "title")) == UNICODE_TITLES

    csv_body = _export(analyst, CSV_FORMAT).decode("utf-8-sig")
    assert {r["Code"]: r["Title"] for r in csv.DictReader(io.StringIO(csv_body))} == UNICODE_TITLES
    xlsx = _export(analyst, XLSX_FORMAT)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    header = [c.value for c in next(sheet.iter_rows())]
    exported = {
        r[header.index("Code")]: r[header.index("Title")] for r in sheet.iter_rows(2, values_only=True)
    }
    assert exported == UNICODE_TITLES

    # The exported workbook imports back as updates that change nothing.
    again = _import(analyst, _upload(xlsx, "export.xlsx"), XLSX_FORMAT)
    assert _confirm(analyst, again).status_code == 302
    assert dict(Initiative.objects.values_list("code", "title")) == UNICODE_TITLES
    assert InitiativePartner.objects.count() == len(UNICODE_TITLES)
