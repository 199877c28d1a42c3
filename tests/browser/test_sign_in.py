"""A person signs in to the demo app at the AS in headless chromium, as a new user would.

Each test starts with no cookies. Every page is checked for a title, and the whole
browser context for console errors and CSP violations (conftest.browse).
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.stack import free_port

from .conftest import PHONE, demo_app

PASSWORD = "input[name=password]"
USERNAME = "input[name=username]"
ALLOW = "[name=allow]"
CANCEL = re.compile(r"^(cancel|deny|don.t allow)", re.IGNORECASE)


def last_document(page):
    return page.documents[-1]


def assert_titled(page):
    assert page.title().strip(), f"{page.url} has an empty <title>"


def open_demo(page, demo):
    response = page.goto(f"{demo.app_url}/")
    assert response.status == 200
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_titled(page)


def at_private_page(page, demo, landmark: str):
    """A page of the AS with a session behind it (``landmark`` shows): answered 200, never cached."""
    expect(page.locator(landmark)).to_be_visible()
    assert page.url.startswith(f"{demo.auth_url}/"), page.url
    response = last_document(page)
    assert response.status == 200
    assert "no-store" in response.headers["cache-control"]
    return response


def at_sign_in_page(page, demo):
    """The AS's sign-in page, served so that nobody caches it."""
    response = at_private_page(page, demo, PASSWORD)
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers
    assert_titled(page)


def fill_sign_in(page, demo, password=None):
    page.fill(USERNAME, demo.username)
    page.fill(PASSWORD, password or demo.password)
    page.locator(f"form:has({PASSWORD}) [type=submit]").click()


def at_consent_page(page, demo):
    """Consent names the signed-in user and where the browser will be sent."""
    at_private_page(page, demo, ALLOW)
    body = page.locator("body").inner_text()
    assert demo.username in body
    assert urlsplit(demo.app_url).netloc in body
    assert_titled(page)


def at_signed_in_page(page, demo) -> dict:
    """The demo app's page after sign-in: userinfo, the ID token's claims and the API's answer."""
    expect(page.locator("#name")).to_be_visible()
    assert page.url == f"{demo.app_url}/"
    assert last_document(page).status == 200
    userinfo = json.loads(page.locator("#userinfo").inner_text())
    claims = json.loads(page.locator("#id-token-claims").inner_text())
    answer = json.loads(page.locator("#api-answer").inner_text())
    assert claims["iss"] == demo.auth_url
    assert claims["aud"] in (demo.client_id, [demo.client_id])
    assert claims["nonce"]  # Authlib compared it with the one it sent
    # One subject for the ID token, userinfo and the API (which learns it by introspection).
    assert claims["sub"] == userinfo["sub"] == answer["sub"]
    assert page.locator("#api-status").inner_text() == "200"
    assert answer["username"] == demo.username
    assert answer["client_id"] == demo.client_id
    assert page.locator("#name").inner_text() in (
        userinfo.get("name"),
        userinfo.get("preferred_username"),
        demo.username,
    )
    assert_titled(page)
    return userinfo


def sign_in(page, demo, screenshot=None, prefix=""):
    open_demo(page, demo)
    page.get_by_role("button", name="Sign in").click()
    at_sign_in_page(page, demo)
    if screenshot:
        screenshot(page, f"{prefix}sign-in")
    fill_sign_in(page, demo)
    at_consent_page(page, demo)
    if screenshot:
        screenshot(page, f"{prefix}consent")
    page.locator(ALLOW).click()
    return at_signed_in_page(page, demo)


def test_sign_in_through_consent_to_the_demo_app(browse, demo, screenshot):
    page = browse()
    open_demo(page, demo)
    screenshot(page, "demo-app")

    userinfo = sign_in(page, demo, screenshot)

    assert userinfo["sub"]
    screenshot(page, "demo-app-signed-in")


def test_sign_in_on_a_phone(browse, demo, screenshot):
    page = browse(PHONE, is_mobile=True, has_touch=True)
    open_demo(page, demo)
    page.get_by_role("button", name="Sign in").click()
    at_sign_in_page(page, demo)
    screenshot(page, "phone-sign-in")

    for field in (USERNAME, PASSWORD):
        box = page.locator(field).bounding_box()
        label = page.locator(f"label[for='{page.locator(field).get_attribute('id')}']").bounding_box()
        # 16 px or more, or iOS zooms into the field.
        assert float(page.locator(field).evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 16
        assert label["y"] + label["height"] <= box["y"] + 1, f"the label of {field} is not above it"
        assert box["width"] >= PHONE["width"] * 0.6, f"{field} is {box['width']} px wide"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    fill_sign_in(page, demo)
    at_consent_page(page, demo)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-consent")
    page.locator(ALLOW).click()
    at_signed_in_page(page, demo)
    screenshot(page, "phone-demo-app-signed-in")


def test_a_wrong_password_is_an_error_announced_to_screen_readers(browse, demo, screenshot):
    page = browse()
    open_demo(page, demo)
    page.get_by_role("button", name="Sign in").click()
    at_sign_in_page(page, demo)

    fill_sign_in(page, demo, password="not-the-password")

    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_be_visible()
    assert alert.inner_text().strip()
    expect(page.locator(PASSWORD)).to_be_visible()
    assert page.url.startswith(f"{demo.auth_url}/")
    expect(page.locator(USERNAME)).to_have_value(demo.username)
    screenshot(page, "sign-in-wrong-password")


def test_cancel_on_consent_returns_access_denied_to_the_app(browse, demo, screenshot):
    page = browse()
    # The demo app answers a refusal with 403, which chromium logs.
    page.problems.expected.append("status of 403")
    open_demo(page, demo)
    page.get_by_role("button", name="Sign in").click()
    fill_sign_in(page, demo)
    at_consent_page(page, demo)

    page.get_by_role("button", name=CANCEL).click()

    expect(page.get_by_role("alert")).to_contain_text("You did not allow the demo app")
    answer = parse_qs(urlsplit(page.url).query)
    assert page.url.startswith(f"{demo.app_url}/callback/")
    assert answer["error"] == ["access_denied"]
    assert answer["iss"] == [demo.auth_url]  # RFC 9207 on error redirects too
    assert last_document(page).status == 403
    expect(page.locator("#error")).to_have_text("access_denied")
    assert_titled(page)
    screenshot(page, "demo-app-access-denied")


def test_sign_out_ends_the_session_at_the_authorization_server(browse, demo, screenshot):
    page = browse()
    sign_in(page, demo)

    page.get_by_role("button", name="Sign out").click()
    # The AS asks before it signs the person out: a page with a button.
    page.wait_for_url(f"{demo.auth_url}/**")
    assert last_document(page).status == 200
    assert "no-store" in last_document(page).headers["cache-control"]
    assert_titled(page)
    screenshot(page, "sign-out")
    page.get_by_role("button", name=re.compile("^sign out$", re.IGNORECASE)).click()

    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    assert urlsplit(page.url).path == "/"
    assert page.url.startswith(f"{demo.app_url}/")
    screenshot(page, "demo-app-signed-out")
    # Signing in again asks for the password: the AS's session is gone.
    page.get_by_role("button", name="Sign in").click()
    at_sign_in_page(page, demo)


def test_an_unknown_client_is_an_error_page_before_any_password(browse, demo, screenshot):
    page = browse()
    page.problems.expected.append("status of 400")
    query = {
        "response_type": "code",
        "client_id": "no-such-client",
        "redirect_uri": f"{demo.app_url}/callback/",
        "scope": "openid",
        "state": "unknown-client",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWPjkdF7mu9cM",
        "code_challenge_method": "S256",
    }
    response = page.goto(f"{demo.auth_url}/o/authorize/?" + "&".join(f"{k}={v}" for k, v in query.items()))

    assert response.status == 400
    assert page.url.startswith(f"{demo.auth_url}/o/authorize/")  # never sent to the unverified redirect URI
    expect(page.locator(PASSWORD)).to_have_count(0)
    expect(page.get_by_role("alert")).to_be_visible()
    body = page.locator("body").inner_text()
    assert response.headers["x-request-id"] in body
    assert_titled(page)
    screenshot(page, "unknown-client")


def tab_to(page, selector: str, presses: int = 15) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            # Visible focus: an outline or a ring, whatever the page's stylesheet draws.
            style = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement); "
                "return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"
            )
            assert (style[0] != "none" and style[1] != "0px") or style[2] != "none", f"{selector}: no visible focus"
            return
    raise AssertionError(f"{selector} never had the focus after {presses} Tabs on {page.url}")


def test_keyboard_only_sign_in(browse, demo):
    page = browse()
    open_demo(page, demo)

    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    at_sign_in_page(page, demo)
    tab_to(page, USERNAME)
    page.keyboard.type(demo.username)
    tab_to(page, PASSWORD)
    page.keyboard.type(demo.password)
    page.keyboard.press("Enter")
    at_consent_page(page, demo)
    tab_to(page, ALLOW)
    page.keyboard.press("Enter")

    at_signed_in_page(page, demo)


def test_the_demo_app_says_when_the_sign_in_service_cannot_be_reached(browse, demo):
    nobody = f"http://127.0.0.1:{free_port()}"
    with demo_app(demo.stack, OAUTH_ISSUER=nobody) as app_url:
        page = browse()
        page.problems.expected.append("status of 502")
        page.goto(f"{app_url}/")
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("alert")).to_contain_text(f"The sign-in service at {nobody} cannot be reached")
        assert page.url == f"{app_url}/sign-in/"
        assert last_document(page).status == 502
        assert_titled(page)


@pytest.mark.parametrize(
    "query",
    [
        "",  # no state: not an answer to any request of this browser
        "code=made-up&state=made-up",
        "error=invalid_request&error_description=Bad+things&state=made-up",
        "code=made-up&state=made-up&iss=http%3A%2F%2F127.0.0.1%3A9",  # RFC 9207: another issuer
    ],
)
def test_a_stray_callback_is_an_error_page_not_a_crash(demo, query):
    response = requests.get(f"{demo.app_url}/callback/?{query}", timeout=10)

    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert "You are not signed in" in response.text
