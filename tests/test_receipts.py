"""The receipt PDF, its QR code, the public PDF address and the print status screen."""

import re
import select
import socket
import threading

import pytest

from kiosk.extensions import db
from kiosk.models import Opinion, PrintJob, utcnow
from kiosk.receipts import fonts, printing, services
from kiosk.receipts.qr import qr_path, qr_svg
from tests.support import receipts as check
from tests.support.factories import make_opinion
from tests.support.printing import printer_without_cups, reprint_form, status_fragment, wait_for_state

NAME = "欧阳秀英"
PHONE = "13812345678"


def consenting_opinion(**answers):
    defaults = {
        "anonymous": False,
        "consent_version": "2026-11",
        "name": NAME,
        "phone": PHONE,
        "content": "村口的路灯坏了三个月，晚上很黑，老人小孩出门都不安全，请尽快修好。",
    }
    return make_opinion(**{**defaults, **answers})


def rendered(opinion, tmp_path, name="receipt", url=None):
    receipt = services.receipt_pdf(opinion, url)
    return receipt, check.write(receipt.data, tmp_path / f"{name}.pdf")


# --- the PDF ------------------------------------------------------------------------


def test_receipt_embeds_the_chinese_font_in_regular_and_real_bold(app, tmp_path):
    with app.app_context():
        _, path = rendered(consenting_opinion(), tmp_path)
    rows = check.fonts(path)
    assert rows and all(r["emb"] == "yes" and r["type"].startswith("CID") for r in rows), rows
    names = [r["name"].split("+")[-1] for r in rows]
    assert "Receipt-Sans-SC" in names and "Receipt-Sans-SC-Bold" in names, names


def test_receipt_is_80_mm_wide_and_ends_just_below_its_last_line(app, tmp_path):
    with app.app_context():
        short = make_opinion(content="路灯坏了。")
        long_ = consenting_opinion(content="很长的意见" * 100)
        results = [rendered(op, tmp_path, name) for op, name in ((short, "short"), (long_, "long"))]
    for receipt, path in results:
        width, height = check.page_size_mm(path)
        assert width == pytest.approx(80, abs=0.1)
        assert height == pytest.approx(receipt.height_mm, abs=0.1)
        image = check.rasterise(path, path.with_suffix(".png"))
        assert 0 < check.blank_below_last_mark_mm(image) <= 5
    # A longer excerpt makes a longer slip, not a fixed page.
    assert results[1][0].height_mm > results[0][0].height_mm


def test_qr_code_decodes_to_the_status_page_of_this_receipt(app, tmp_path):
    app.config["PUBLIC_BASE_URL"] = "https://lc.rd.example.cn/"
    with app.app_context():
        opinion = consenting_opinion()
        _, path = rendered(opinion, tmp_path)
        expected = f"https://lc.rd.example.cn/r/{opinion.receipt_number}?k={opinion.secret}"
    image = check.rasterise(path, tmp_path / "qr.png")
    assert check.qr_texts(image) == [expected]


def test_receipt_says_what_it_promises_and_never_the_name(app, tmp_path):
    with app.app_context():
        opinion = consenting_opinion()
        _, path = rendered(opinion, tmp_path)
        number, secret, station = opinion.receipt_number, opinion.secret, opinion.station.name
        township, office_phone = opinion.station.township.name, opinion.station.township.office_phone
    text = check.text(path)
    flat = re.sub(r"\s+", "", text)
    # LC00 is a station of 罗城街道: a 街道's office is its 人大工委 (a 镇 has a 人大办).
    for expected in (number, secret, station, "道路交通", "15个工作日内", office_phone, f"{township}人大工委", "验证码"):
        assert re.sub(r"\s+", "", expected) in flat, expected
    assert "人大办" not in flat
    assert "村口的路灯坏了三个月，晚上很黑，老人小孩出门都不安全，请尽" in flat  # the first 30 characters
    assert "请尽快修好" not in flat
    # The contact step promises the details are not printed: not even masked.
    assert NAME not in flat and "欧阳" not in flat
    assert PHONE not in flat and "5678" not in flat and "联系电话" not in flat


def test_markup_is_printed_as_text(app, tmp_path):
    with app.app_context():
        _, path = rendered(make_opinion(content='<b hx-get="/x">粗体</b><script>alert(1)</script>'), tmp_path)
    flat = re.sub(r"\s+", "", check.text(path))
    assert '<bhx-get="/x">粗体</b><script>' in flat


def test_a_character_outside_the_cut_font_still_prints(app, tmp_path):
    # 堃 (common in names) is not in GB2312, so not in the cut font.
    with app.app_context():
        _, path = rendered(make_opinion(content="王堃家门口的水渠堵了"), tmp_path)
    names = [r["name"].split("+")[-1] for r in check.fonts(path)]
    assert "Noto-Sans-CJK-SC" in names, names
    assert "王堃家门口" in check.text(path)


def test_place_names_outside_gb2312_are_in_the_cut_font():
    assert "榃" in fonts.receipt_characters()


def test_receipt_image_for_review(app):
    """Saved under test-results/ for a person to look at."""
    app.config["PUBLIC_BASE_URL"] = "https://lc.rd.example.cn"
    with app.app_context():
        opinion = consenting_opinion()
        receipt = services.receipt_pdf(opinion)
    path = check.write(receipt.data, check.RESULTS / "receipt.pdf")
    image = check.rasterise(path, check.RESULTS / "receipt.png")
    assert image.width == pytest.approx(80 / 25.4 * check.DPI, abs=2)


def test_a_station_with_a_printer_warms_the_renderer_up(app, client):
    app.config["PRINTER"] = "receipt"
    client.get("/healthz")
    thread = next((t for t in threading.enumerate() if t.name == "receipt-warm-up"), None)
    if thread is not None:
        thread.join(60)
    assert services._warmed_up


def test_fonts_are_not_rebuilt_when_up_to_date():
    assert fonts.build() is False


# --- where the QR code leads --------------------------------------------------------


def test_receipt_url_without_a_hub_is_this_box_address(app):
    with app.app_context():
        opinion = make_opinion()
        assert services.receipt_url(opinion) == (
            f"http://127.0.0.1:5000/r/{opinion.receipt_number}?k={opinion.secret}"
        )
    with app.test_request_context(base_url="http://192.168.1.20:8080"):
        opinion = db.session.get(Opinion, opinion.uuid)
        assert services.receipt_url(opinion).startswith("http://192.168.1.20:8080/r/")


def test_qr_codes_only_this_machine_can_open_are_warned_of_once(app, caplog):
    caplog.set_level("WARNING", logger="kiosk.receipts.services")
    with app.app_context():
        opinion = make_opinion()
        services.receipt_url(opinion)
        services.receipt_url(opinion)
    warnings = [r.getMessage() for r in caplog.records if "phone cannot open" in r.getMessage()]
    assert len(warnings) == 1 and "http://127.0.0.1:5000" in warnings[0] and "KIOSK_PUBLIC_BASE_URL" in warnings[0]

    caplog.clear()
    app.extensions.pop("loopback_qr_warned")
    app.config["PUBLIC_BASE_URL"] = "https://lc.rd.example.cn"
    with app.app_context():
        services.receipt_url(db.session.get(Opinion, opinion.uuid))
    assert not [r for r in caplog.records if "phone cannot open" in r.getMessage()]


def test_screen_qr_is_the_same_code_as_the_paper(app):
    svg = qr_svg("http://127.0.0.1:5000/r/LC00-260101-0001?k=ABCDEF", data_testid="receipt-qr")
    assert svg.startswith("<svg") and 'data-testid="receipt-qr"' in svg
    assert qr_path("http://127.0.0.1:5000/r/LC00-260101-0001?k=ABCDEF")[1] in svg


# --- the PDF address printed on paper -----------------------------------------------


def test_pdf_address_needs_the_right_secret(app, client, tmp_path):
    with app.app_context():
        opinion = make_opinion()
        number, secret = opinion.receipt_number, opinion.secret
    response = client.get(f"/receipts/{number}.pdf?k={secret.lower()}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    qr = check.qr_texts(check.rasterise(check.write(response.data, tmp_path / "r.pdf"), tmp_path / "r.png"))
    assert qr == [f"http://localhost/r/{number}?k={secret}"]

    for query in (f"?k={'X' * len(secret)}", "", "?k="):
        wrong = client.get(f"/receipts/{number}.pdf{query}")
        assert wrong.status_code == 404
        assert "没有找到" in wrong.get_data(as_text=True)
    assert client.get(f"/receipts/LC00-000000-9999.pdf?k={secret}").status_code == 404


def test_the_receipt_screen_fetches_its_qr_code_with_the_secret_and_keeps_nothing(app, client):
    with app.app_context():
        opinion = make_opinion()
        number, secret = opinion.receipt_number, opinion.secret
    response = client.get(f"/receipts/{number}/qr.svg?k={secret.lower()}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    # The same code as on the paper.
    assert response.text == qr_svg(f"http://localhost/r/{number}?k={secret}")
    # The address holds the 验证码: nothing of it stays in the kiosk's browser.
    assert response.headers["Cache-Control"] == "no-store"

    for query in (f"?k={'X' * len(secret)}", "", "?k="):
        assert client.get(f"/receipts/{number}/qr.svg{query}").status_code == 404
    assert client.get(f"/receipts/LC00-000000-9999/qr.svg?k={secret}").status_code == 404


def test_the_receipt_screen_shows_the_code_of_its_own_receipt(app, client):
    from tests.support.crashes import ClientVillager

    villager = ClientVillager(client)
    villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
    page = villager.submit()
    number, secret = page.receipt_number, page.receipt_secret
    [source] = re.findall(r'<img src="([^"]+)"[^>]*data-testid="receipt-qr"', page.text)
    assert source == f"/receipts/{number}/qr.svg?k={secret}"
    assert client.get(source).text == qr_svg(f"http://localhost/r/{number}?k={secret}")


# --- print status and reprint, without a printer --------------------------------------


def test_no_printer_fails_promptly_and_keeps_the_opinion(app):
    with app.app_context():
        opinion = make_opinion()
        job = printing.start_printing(opinion)
        job_id, uuid = job.id, opinion.uuid
    job = wait_for_state(app, job_id)
    assert job.state == "failed" and job.detail == printing.NO_PRINTER
    with app.app_context():
        assert db.session.get(Opinion, uuid) is not None


def test_without_a_printer_the_receipt_screen_says_so_at_once(app, client):
    """No "preparing" first, no polling, no reprint button that could not help."""
    from tests.support.crashes import ClientVillager

    villager = ClientVillager(client)
    villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
    screen = villager.submit().text
    status = re.search(r'<div id="print-status".*?</div>', screen, re.S).group(0)
    assert 'data-state="failed"' in status and printing.NO_PRINTER in status
    assert "hx-get" not in status and 'data-testid="reprint"' not in status
    assert "正在准备回执" not in screen
    with app.app_context():
        job = db.session.query(PrintJob).one()
        assert (job.state, job.detail) == ("failed", printing.NO_PRINTER)


@pytest.mark.parametrize("propagate", [False, True])
def test_the_receipt_prints_even_when_making_the_screen_fails(app, client, monkeypatch, propagate):
    """With an error page, or with no response at all (an error propagated, as under a debugger)."""
    from kiosk.intake import routes
    from tests.support.crashes import ClientVillager

    printer_without_cups(app)
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    def broken_screen(*args, **kwargs):
        raise RuntimeError("the screen could not be made")

    monkeypatch.setattr(routes, "receipt_screen", broken_screen)
    villager = ClientVillager(client)
    villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
    if propagate:
        with pytest.raises(RuntimeError):
            villager.submit()
    else:
        assert villager.submit().status == 500
    with app.app_context():
        job_id = db.session.query(PrintJob).one().id
    # Started: it leaves "rendering" (no CUPS answers, so it fails and a reprint is offered).
    assert wait_for_state(app, job_id).detail == printing.UNAVAILABLE


def test_a_double_tap_prints_once(app):
    with app.app_context():
        opinion = make_opinion()
        first = printing.start_printing(opinion)
        again = printing.start_printing(opinion)
        assert again.id == first.id
        assert db.session.query(PrintJob).filter_by(opinion_uuid=opinion.uuid).count() == 1
    wait_for_state(app, first.id)


def test_printing_an_uncommitted_opinion_is_refused(app):
    with app.app_context():
        opinion = make_opinion()
        opinion.content = "改过的内容"
        with pytest.raises(RuntimeError):
            printing.start_printing(opinion)
        db.session.rollback()


def test_status_fragment_polls_while_printing_and_stops_when_done(app, client):
    with app.app_context():
        opinion = make_opinion(phone=PHONE, name=NAME, anonymous=False, consent_version="2026-11")
        job = PrintJob(id="00000000-0000-4000-8000-000000000001", opinion_uuid=opinion.uuid, state="queued")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        number = opinion.receipt_number
    # This process's own job, so start-up recovery leaves it alone.
    printing.printer_for(app).claim(job_id)

    html = status_fragment(client, job_id)
    assert 'data-testid="print-status"' in html
    assert f'hx-get="/print-jobs/{job_id}"' in html and 'hx-trigger="load delay:1s"' in html
    assert 'hx-swap="outerHTML"' in html and "排队" in html
    assert "<html" not in html and NAME not in html and PHONE not in html and "5678" not in html

    with app.app_context():
        db.session.get(PrintJob, job_id).state = "printed"
        db.session.commit()
    html = status_fragment(client, job_id)
    assert "hx-get" not in html and "已打印" in html and 'data-testid="reprint"' not in html

    page = client.get(f"/print-jobs/{job_id}").get_data(as_text=True)
    assert "<html" in page and 'data-testid="print-status"' in page and number in page
    assert client.get("/print-jobs/no-such-job").status_code == 404


def test_one_reprint_after_a_failure_then_a_polite_refusal(app, client):
    printer_without_cups(app)
    with app.app_context():
        opinion = make_opinion()
        job_id = printing.start_printing(opinion).id
        number = opinion.receipt_number
    wait_for_state(app, job_id)

    html = status_fragment(client, job_id)
    assert "打印" in html and 'data-testid="reprint"' in html and "hx-get" not in html
    action, data = reprint_form(html)
    assert action == f"/receipts/{number}/reprint"

    response = client.post(action, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    second_id = re.search(r'id="print-status"[^>]*data-state="(\w+)"', response.get_data(as_text=True))
    with app.app_context():
        jobs = db.session.query(PrintJob).filter_by(opinion_uuid=opinion.uuid).all()
        assert sorted(j.kind for j in jobs) == ["first", "reprint"]
        reprint_id = next(j.id for j in jobs if j.kind == "reprint")
    assert second_id is not None
    wait_for_state(app, reprint_id)
    html = status_fragment(client, reprint_id)
    assert 'data-testid="reprint"' not in html  # the one reprint is used

    again = client.post(action, data=data, headers={"HX-Request": "true"})
    assert again.status_code == 200 and "已经补打过一次" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(PrintJob).filter_by(opinion_uuid=opinion.uuid).count() == 2


def test_reprint_needs_the_secret_and_a_csrf_token(app, client):
    printer_without_cups(app)
    with app.app_context():
        opinion = make_opinion()
        job_id = printing.start_printing(opinion).id
        secret = opinion.secret
    wait_for_state(app, job_id)
    action, data = reprint_form(status_fragment(client, job_id))
    assert client.post(action, data={"secret": secret}).status_code == 400
    assert client.post(action, data={**data, "secret": "WRONG1"}).status_code == 404
    with app.app_context():
        assert db.session.query(PrintJob).filter_by(opinion_uuid=opinion.uuid).count() == 1


def test_jobs_left_in_progress_by_a_dead_process_do_not_stay_in_progress(app, client):
    with app.app_context():
        opinion = make_opinion()
        long_ago = utcnow().replace(year=2020)
        db.session.add_all([
            PrintJob(id="00000000-0000-4000-8000-00000000000a", opinion_uuid=opinion.uuid, state="rendering"),
            # Reached a CUPS that is gone now, long past its deadline.
            PrintJob(id="00000000-0000-4000-8000-00000000000b", opinion_uuid=opinion.uuid, state="queued",
                     cups_job_id=7, created_at=long_ago),
            # Another request of this process is starting it: not an orphan.
            PrintJob(id="00000000-0000-4000-8000-00000000000c", opinion_uuid=opinion.uuid, state="rendering"),
        ])  # fmt: skip
        printing.printer_for(app).claim("00000000-0000-4000-8000-00000000000c")
        db.session.commit()
    app.config.update(PRINTER="receipt", CUPS_SERVER="127.0.0.1:9")
    client.get("/healthz")
    for job_id in ("00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"):
        job = wait_for_state(app, job_id)
        assert job.state == "failed" and job.detail
    with app.app_context():
        assert db.session.get(PrintJob, "00000000-0000-4000-8000-00000000000c").state == "rendering"


def test_a_printer_that_hangs_never_holds_up_the_next_submission(app):
    # A "CUPS" that takes the connection and never answers.
    with socket.socket() as silent_cups:
        silent_cups.bind(("127.0.0.1", 0))
        silent_cups.listen()
        host, port = silent_cups.getsockname()
        app.config.update(PRINTER="receipt", CUPS_SERVER=f"{host}:{port}", PRINT_DEADLINE_SECONDS=300)
        with app.app_context():
            job_id = printing.start_printing(make_opinion()).id
        # Readable once the worker has rendered the receipt and is waiting on CUPS.
        assert select.select([silent_cups], [], [], 60)[0], "the print worker never reached CUPS"
        with app.app_context():
            next_one = make_opinion(content="第二位群众的意见。")
            assert next_one.receipt_number.endswith("-0002")
            assert db.session.get(PrintJob, job_id).state == "rendering"
