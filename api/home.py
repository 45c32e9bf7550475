"""`/`: where a new user lands. It redirects to START, the staff console (api.console); /start stays a short Korean
page that links the API documentation and /readyz."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

START = "/console"

PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>redactor · 영상정보 열람·제공</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.6}</style></head>
<body>
<h1>redactor</h1>
<p>개인영상정보 열람·제공 서비스입니다. 정보주체의 열람 청구(별지 4호)에는 다른 사람의 얼굴과 번호판을 가린 영상을,
수사기관 제공(지침 제32조)에는 인수증과 함께 제공 꾸러미를 만들고, 모든 이용·제공·열람·파기를
관리대장(별지 2호)에 기록합니다.</p>
<ul>
<li><a href="/console">직원 콘솔</a> (로그인)</li>
<li><a href="/docs">API 문서</a> (OpenAPI; <code>POST /api/v1/auth/token</code>으로 로그인)</li>
<li><a href="/readyz">준비 상태</a> (/readyz: 빠진 구성 요소와 그 해결 방법)</li>
</ul>
<p>계정은 명령줄에서 만듭니다: <code>redactor users add 이름 --role clerk</code> (비밀번호는 표준 입력으로).</p>
</body></html>
"""


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(START, status_code=307)


@router.get("/start", response_class=HTMLResponse)
def start() -> HTMLResponse:
    return HTMLResponse(PAGE)
