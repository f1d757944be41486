from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def public_home_view(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html")
