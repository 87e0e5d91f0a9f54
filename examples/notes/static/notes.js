// Reload the page when another client changes the notes (the live feed, Server-Sent Events).
const feed = new EventSource(document.currentScript.dataset.feed);
for (const kind of ["created", "updated", "deleted", "attached"]) {
  feed.addEventListener(kind, () => window.location.reload());
}
