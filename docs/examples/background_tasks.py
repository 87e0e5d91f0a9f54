from microasgi.background import BackgroundTask, BackgroundTasks
from microasgi.responses import JSONResponse
from microasgi.types import Receive, Scope, Send

outbox: list[str] = []
audit: list[str] = []


def send_welcome_email(address: str) -> None:
    outbox.append(address)  # blocking work: runs in a worker thread


async def write_audit_log(event: str, *, user: str) -> None:
    audit.append(f"{event}:{user}")  # async work: awaited on the event loop


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    tasks = BackgroundTasks()
    tasks.add_task(send_welcome_email, "ada@example.com")
    tasks.add_task(write_audit_log, "signup", user="ada")
    response = JSONResponse({"user": "ada"}, status_code=201, background=tasks)
    await response(scope, receive, send)  # the body is sent first, then the tasks run in order


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_tasks_run_after_the_response() -> None:
    client = AsyncTestClient(app)
    response = await client.post("/signup")
    assert response.json() == {"user": "ada"}
    assert outbox[-1] == "ada@example.com"
    assert audit[-1] == "signup:ada"


async def test_a_single_task() -> None:
    task = BackgroundTask(send_welcome_email, "bob@example.com")
    await task()
    assert outbox[-1] == "bob@example.com"
