"""The JSON API under /api/v1/: the console's actions with a token, JSON errors naming the
field, per-token rate limits, and the token's name in the audit trail."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from fieldkit.app.hub import Hub
from fieldkit.app.tokens import create_token, revoke_token
from fieldkit.core.ops import RecordId
from fieldkit.core.records import Category, Contact, Draft, Kind, QuantityUnit, Status, Urgency
from fieldkit.web.api import ApiLimits, plain_port_routes
from fieldkit.web.api_spec import OPERATIONS, PREFIX, openapi
from fieldkit.web.app import create_app
from tests.web.api.conftest import TOKEN_NAME, Api
from tests.web.conftest import make_config

NEED = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="family of 4",
             quantity=4, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip
OFFER = Draft(Kind.OFFER, Category.WATER, Urgency.TODAY, "riverside", note="40 bottles",
              quantity=6, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip


async def test_records_are_listed_with_the_queues_filters_and_paged(api: Api, hub: Hub) -> None:
    water = await hub.submit(NEED)
    critical = await hub.submit(replace(NEED, urgency=Urgency.CRITICAL, note="insulin"))
    food = await hub.submit(replace(NEED, category=Category.FOOD, area="downtown"))
    offer = await hub.submit(OFFER)

    async def ids(query: str) -> list[str]:
        answer = await api.get(f"{PREFIX}/records?{query}")
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["records"]]

    assert await ids("kind=need") == [str(r.record.id) for r in (critical, water, food)]
    assert await ids("kind=offer") == [str(offer.record.id)]
    assert await ids("kind=need&category=food") == [str(food.record.id)]
    assert await ids("area=downtown") == [str(food.record.id)]
    assert await ids("text=INSULIN") == [str(critical.record.id)]
    assert await ids(f"origin={hub.id:08x}&status=matched") == []
    first = (await api.get(f"{PREFIX}/records?kind=need&limit=2")).json()
    assert first["next_offset"] == 2
    rest = (await api.get(f"{PREFIX}/records?kind=need&limit=2&offset=2")).json()
    assert [r["id"] for r in rest["records"]] == [str(food.record.id)]
    assert rest["next_offset"] is None


async def test_a_record_shows_its_private_fields_and_its_history(api: Api, hub: Hub) -> None:
    need = await hub.submit(replace(NEED, contact=replace(NEED.contact, phone="555-0100")))
    await hub.set_status(need.record.id, Status.CANCELLED, "moved away", by="Ana")
    answer = await api.get(f"{PREFIX}/records/{need.record.id}")
    assert answer.status_code == 200
    record = answer.json()
    assert record["contact"]["phone"] == "555-0100"  # as the signed-in console shows it
    assert record["status"] == "cancelled"
    assert [(h["op"], h["by"], h.get("message")) for h in record["history"]] == [
        ("create", "", None), ("setstatus", "Ana", "moved away")
    ]  # fmt: skip


async def test_suggestions_for_a_need_come_ranked_with_their_reasons(api: Api, hub: Hub) -> None:
    need = await hub.submit(NEED)
    near = await hub.submit(OFFER)
    far = await hub.submit(replace(OFFER, area="downtown"))
    answer = (await api.get(f"{PREFIX}/records/{need.record.id}/suggestions")).json()
    found = answer["suggestions"]
    assert [s["record"]["id"] for s in found] == [str(near.record.id), str(far.record.id)]
    assert found[0]["reason"]["nearness"] == "same_area"
    assert found[0]["reason"]["covers"] == 4
    assert found[0]["reason_text"].startswith("same area · covers 4 of 4 people")


async def test_a_match_is_made_in_the_tokens_name_and_the_resident_is_told(
    api: Api, hub: Hub
) -> None:
    need, offer = await hub.submit(NEED), await hub.submit(OFFER)
    body = {"need": str(need.record.id), "offer": str(offer.record.id),
            "message": "pick up water at St. Mary's 2-6 pm"}  # fmt: skip
    answer = await api.post(f"{PREFIX}/matches", body)
    assert answer.status_code == 201, answer.text
    assert [r["status"] for r in answer.json()["records"]] == ["matched", "matched"]
    stored = await hub.store.get(need.record.id)
    assert stored is not None
    assert stored.status_message == "pick up water at St. Mary's 2-6 pm"
    history = await hub.store.history(need.record.id)
    assert history[-1].actor == TOKEN_NAME


async def test_set_status_cancels_reopens_and_fulfils_in_the_tokens_name(
    api: Api, hub: Hub
) -> None:
    need = await hub.submit(NEED)
    path = f"{PREFIX}/records/{need.record.id}/status"
    for status in ("cancelled", "open", "fulfilled"):
        done = await api.post(path, {"status": status, "message": f"now {status}"})
        assert done.status_code == 200, done.text
        assert done.json()["records"][0]["status"] == status
    assert [e.actor for e in await hub.store.history(need.record.id)][1:] == [TOKEN_NAME] * 3


async def test_a_fulfilled_record_is_not_reopened_and_the_status_field_says_why(
    api: Api, hub: Hub
) -> None:
    need = await hub.submit(NEED)
    await hub.set_status(need.record.id, Status.FULFILLED)
    answer = await api.post(f"{PREFIX}/records/{need.record.id}/status", {"status": "open"})
    assert answer.status_code == 409
    assert answer.json()["field"] == "status"
    assert "is fulfilled: it cannot be marked open" in answer.json()["message"]


async def test_a_notice_posted_through_the_api_shows_on_the_residents_board(
    api: Api, hub: Hub
) -> None:
    body = {"category": "water", "area": "Riverside", "text": "Boil water before drinking"}
    answer = await api.post(f"{PREFIX}/notices", body)
    assert answer.status_code == 201, answer.text
    notice = answer.json()
    assert (notice["kind"], notice["area"]) == ("notice", "riverside")
    history = await hub.store.history(RecordId.parse(notice["id"]))
    assert [e.actor for e in history] == [TOKEN_NAME]
    residents = create_app(hub, make_config())
    transport = httpx.ASGITransport(app=residents, client=("10.42.0.23", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as client:
        board = await client.get("/board?area=riverside")
    assert "Boil water before drinking" in board.text


# --- authentication ------------------------------------------------------------------------------


async def test_a_request_without_a_token_is_refused_with_a_json_401(api: Api) -> None:
    answer = await api.client.get(f"{PREFIX}/records")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"] == "unauthorized"
    wrong = await api.client.get(f"{PREFIX}/records", headers={"Authorization": "Basic eDp5"})
    assert wrong.status_code == 401


async def test_a_revoked_token_is_refused_from_the_next_request(api: Api, hub: Hub) -> None:
    assert (await api.get(f"{PREFIX}/records")).status_code == 200
    assert await revoke_token(hub.store, TOKEN_NAME)
    answer = await api.get(f"{PREFIX}/records")
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert "revoked" in answer.json()["message"]


async def test_a_made_up_token_is_refused(api: Api) -> None:
    forged = "fkt_" + "A" * 43
    answer = await api.client.get(f"{PREFIX}/records", headers=api.auth(forged))
    assert answer.status_code == 401


# --- errors --------------------------------------------------------------------------------------


async def test_a_wrong_parameter_is_a_422_naming_it(api: Api) -> None:
    answer = await api.get(f"{PREFIX}/records?kind=wish")
    assert answer.status_code == 422
    assert answer.json()["field"] == "kind"
    assert "need, offer, notice" in answer.json()["message"]
    assert (await api.get(f"{PREFIX}/records?limit=0")).json()["field"] == "limit"
    assert (await api.get(f"{PREFIX}/records?limit=ten")).json()["field"] == "limit"
    assert (await api.get(f"{PREFIX}/records?stauts=open")).json()["field"] == "stauts"
    assert (await api.get(f"{PREFIX}/records/not-an-id")).json()["field"] == "id"


async def test_error_messages_follow_accept_language(api: Api) -> None:
    english = (await api.get(f"{PREFIX}/records?kind=wish")).json()
    spanish = await api.client.get(
        f"{PREFIX}/records?kind=wish", headers={**api.auth(), "Accept-Language": "es"}
    )
    assert spanish.json()["field"] == "kind"
    assert spanish.json()["message"] != english["message"]
    assert "need, offer, notice" in spanish.json()["message"]


async def test_a_wrong_body_field_is_named_in_the_answer(api: Api, hub: Hub) -> None:
    need, offer = await hub.submit(NEED), await hub.submit(OFFER)
    missing = await api.post(f"{PREFIX}/matches", {"need": str(need.record.id)})
    assert missing.status_code == 422
    assert missing.json()["field"] == "offer"
    swapped = await api.post(
        f"{PREFIX}/matches", {"need": str(offer.record.id), "offer": str(need.record.id)}
    )
    assert swapped.status_code == 409
    assert [f["field"] for f in swapped.json()["fields"]] == ["need", "offer"]
    unknown = await api.post(
        f"{PREFIX}/matches",
        {"need": str(need.record.id), "offer": f"{hub.id:08x}-999"},
    )
    assert (unknown.status_code, unknown.json()["field"]) == (404, "offer")
    long = await api.post(f"{PREFIX}/records/{need.record.id}/status",
                          {"status": "open", "message": "x" * 201})  # fmt: skip
    assert long.json()["fields"][0] == {
        "field": "message", "code": "too_long",
        "message": "Please keep this to 200 characters (it has 201).",
    }  # fmt: skip
    notice = {"category": "water", "area": "x", "text": "y"}
    extra = await api.post(f"{PREFIX}/notices", {**notice, "urgent": True})
    assert extra.json()["field"] == "urgent"
    blank = await api.post(f"{PREFIX}/notices", {"category": "water", "area": "x", "text": " "})
    assert blank.json()["field"] == "text"


async def test_a_body_that_is_not_json_is_refused_as_json(api: Api) -> None:
    path = f"{PREFIX}/notices"
    bad = await api.client.post(path, headers={**api.auth(), "content-type": "application/json"},
                                content=b"{nope")  # fmt: skip
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_json")
    form = await api.client.post(path, headers=api.auth(), data={"category": "water"})
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    huge = await api.post(path, {"category": "water", "area": "x", "text": "y" * 20_000})
    assert huge.status_code == 413


async def test_unknown_records_paths_and_methods_answer_json_never_a_page(api: Api) -> None:
    gone = await api.get(f"{PREFIX}/records/0000abcd-7")
    assert (gone.status_code, gone.json()["field"]) == (404, "id")
    nowhere = await api.get(f"{PREFIX}/nowhere")
    assert (nowhere.status_code, nowhere.json()["error"]) == (404, "not_found")
    wrong_method = await api.client.delete(f"{PREFIX}/records", headers=api.auth())
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/json"
    # a newline in the path (schemathesis found it): Starlette's mount does not take it, and
    # the console's page would answer; the API's JSON does
    odd = await api.get(f"{PREFIX}/records/7%0A%C2%81/suggestions")
    assert (odd.status_code, odd.headers["content-type"]) == (404, "application/json")
    assert odd.json()["error"] == "not_found"


async def test_the_residents_plain_http_port_refuses_the_api_in_json(hub: Hub) -> None:
    app = create_app(hub, make_config(), extra_routes=plain_port_routes(8443))
    transport = httpx.ASGITransport(app=app, client=("10.42.0.23", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.42.0.1") as client:
        answer = await client.get(f"{PREFIX}/records", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "https_only"
    assert "8443" in answer.json()["message"]


# --- rate limits ---------------------------------------------------------------------------------


async def test_each_token_has_its_own_rate_limit(api: Api, hub: Hub) -> None:
    other = await create_token(hub.store, "runner app", 0)
    answers = [(await api.get(f"{PREFIX}/records")).status_code for _ in range(21)]
    assert answers == [200] * 20 + [429]
    limited = await api.get(f"{PREFIX}/records")
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert (await api.client.get(f"{PREFIX}/records", headers=api.auth(other))).status_code == 200
    api.clock.now += 2  # two more requests' worth refilled
    assert (await api.get(f"{PREFIX}/records")).status_code == 200


async def test_requests_without_a_valid_token_are_limited_per_address(api: Api) -> None:
    answers = [(await api.client.get(f"{PREFIX}/records")).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    assert (await api.get(f"{PREFIX}/records")).status_code == 200  # a good token still passes


# --- the document --------------------------------------------------------------------------------


async def test_the_openapi_document_is_served_and_describes_every_route(api: Api) -> None:
    answer = await api.client.get(f"{PREFIX}/openapi.json")  # no token needed
    assert answer.status_code == 200
    document = answer.json()
    assert document == openapi()
    assert document["openapi"].startswith("3.1")
    declared = {(PREFIX + op.path, op.method) for op in OPERATIONS}
    described = {(path, m) for path, item in document["paths"].items() for m in item}
    assert declared <= described
    assert described - declared == {(f"{PREFIX}/openapi.json", "get")}


def test_the_readme_states_the_rate_limits_the_hub_applies() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    limits = ApiLimits()
    per_token, unknown = limits.per_token, limits.unknown
    assert f"{per_token.burst} requests at once, then {per_token.per_second:g} a second" in readme
    assert f"({unknown.burst},\nthen {unknown.per_second:g} a second)" in readme


async def test_a_redaction_through_the_api_erases_the_contact_and_note(api: Api, hub: Hub) -> None:
    need = await hub.submit(replace(NEED, contact=Contact("Rosa", "+1 555 0100", "12 Elm St")))
    path = f"{PREFIX}/records/{need.record.id}/redact"
    done = await api.client.post(path, headers=api.auth())
    assert done.status_code == 200, done.text
    (shown,) = done.json()["records"]
    assert shown["note"] == ""
    assert shown["redacted"] is True  # a program tells an erasure from a blank field
    assert "Rosa" not in done.text
    other = (await api.client.get(f"{PREFIX}/records", headers=api.auth())).json()
    assert all(r["redacted"] is (r["id"] == str(need.record.id)) for r in other["records"])
    held = await hub.store.get(need.record.id)
    assert held is not None
    assert held.redacted
    assert [e.actor for e in await hub.store.history(need.record.id)][-1] == TOKEN_NAME
    missing = await api.client.post(f"{PREFIX}/records/0000beef-1/redact", headers=api.auth())
    assert missing.status_code == 404
