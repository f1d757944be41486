from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def public_home_view(request: HttpRequest) -> HttpResponse:
    if request.GET.get("done") == "logged_out":  # a logout on a team host lands here
        messages.info(request, "You have been logged out.")
    return render(request, "public/home.html")
