// JSON calls to the team host. Errors come back as {code, message, extra} (the server's contract); a network
// failure or an unexpected answer becomes the same shape, so callers show one kind of message.

export class ApiError extends Error {
  constructor({ status, code, message, extra }) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra || {};
  }
}

let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = token || "";
}

export async function request(url, { method = "GET", body, signal } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      signal,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(method !== "GET" ? { "X-CSRFToken": csrfToken } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "network", message: "The server could not be reached. Check your connection and try again." });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError({
      status: response.status,
      code: data?.code || `http.${response.status}`,
      message:
        data?.message ||
        (response.status === 404 ? "Not found: it may have been deleted, or you may not have access." : `The server answered ${response.status}.`),
      extra: data?.extra,
    });
  }
  return data;
}
