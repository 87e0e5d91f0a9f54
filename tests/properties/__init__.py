"""Property-based tests (hypothesis) for every sans-I/O parser, one module per parser.

Run them with ``.venv/bin/pytest tests/properties -q``. Each module's docstring names the parser,
its documented error, and the older property tests elsewhere that complete it ("Also: ..."), so
every property of a parser can be found from its module here.

The properties asserted, wherever they apply:

1. **Totality.** For arbitrary input (any text or bytes, control characters, non-ASCII, the
   grammar's own separators and quotes, huge repeats) the parser returns, or raises only its
   documented error (``MalformedHeaderError``, ``FormDataError``, ``MultiPartException`` with
   400/413, ``ValueError``, ``NoMatchFound``), which the framework turns into a 4xx. Anything
   else would be a 500.
2. **Round trip.** Building then parsing gives the input back: ``Response.set_cookie`` ->
   cookie parser, ``urlencode`` -> ``QueryParams`` and ``FormParser``, random fields and files ->
   multipart body -> ``MultiPartParser``, components -> ``URL`` -> components, values ->
   ``url_path_for`` -> route matching, ``format_http_date`` -> ``parse_http_date``, and so on.
3. **Split invariance.** Bodies fed in chunks cut at arbitrary boundaries (1-byte chunks and
   empty chunks included) give the same result, or the same error, as one chunk; headers joined
   from several lines read as their parts.
4. **Linear time.** For the adversarial shapes of each grammar (runs of separators, ``;;;;``,
   ``====``, ``%%%%``, nested quotes and escapes, thousands of ranges, CR/LF floods, runs of
   almost-delimiters, floods of tiny parts) doubling the input at most triples the time
   (``_linear.assert_linear``). Each such test names the weakness it covers in its docstring:
   CWE-1333 (regular expression or parser backtracking), CWE-407 (inefficient algorithmic
   complexity), CWE-400 (uncontrolled resource consumption).
5. **Agreement with a reference.** Where the standard library has one and its semantics agree:
   ``urllib.parse.parse_qsl`` (query strings, urlencoded forms), ``http.cookies.SimpleCookie``
   (simple cookies), ``urllib.parse.urlsplit`` (hosts and URLs), ``ipaddress`` (proxy nodes),
   Python slicing (byte ranges). Where the reference is a specification (RFC 9110's
   precondition steps, ``Accept-Encoding`` weights), a small model of it is.

Regression tests for bugs these properties found sit in the module of the parser, named after the
bug, with the weakness in their docstring.
"""
