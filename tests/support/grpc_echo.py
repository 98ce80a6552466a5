#!/usr/bin/python3
"""A gRPC server and client for portier's tests (Debian's python3-grpcio, no generated code:
messages are raw bytes).

  grpc_echo.py serve PORT [CERT KEY]    serves echo.Echo on 127.0.0.1:PORT (TLS with CERT/KEY),
                                        prints "listening on PORT" once ready
  grpc_echo.py call TARGET AUTHORITY [CA]
                                        calls every method through TARGET (TLS trusting CA), with
                                        AUTHORITY as :authority, and prints one JSON object with
                                        what came back

Methods: Unary (the request with a prefix, trailing metadata x-trailer), ServerStream (five
replies), ClientStream (all requests joined), Bidi (each request answered as it comes, the
next one sent only after the answer: streaming both ways at once), Fail (NOT_FOUND with a
message), Meta (the request metadata the server saw, as JSON).
"""
import json
import sys
from concurrent import futures

import grpc

SERVICE = "echo.Echo"


def serve(port, cert=None, key=None):
    def unary(request, context):
        context.set_trailing_metadata((("x-trailer", "unary-done"),))
        return b"echo:" + request

    def server_stream(request, context):
        for i in range(5):
            yield request + b"-" + str(i).encode()
        context.set_trailing_metadata((("x-trailer", "stream-done"),))

    def client_stream(request_iterator, context):
        return b"+".join(request_iterator)

    def bidi(request_iterator, context):
        for r in request_iterator:
            yield b"bidi:" + r

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    def meta(request, context):
        seen = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        return json.dumps(seen, sort_keys=True).encode()

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Meta": grpc.unary_unary_rpc_method_handler(meta),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    address = "127.0.0.1:" + port
    if cert:
        with open(cert, "rb") as c, open(key, "rb") as k:
            creds = grpc.ssl_server_credentials(((k.read(), c.read()),))
        server.add_secure_port(address, creds)
    else:
        server.add_insecure_port(address)
    server.start()
    print("listening on " + port, flush=True)
    server.wait_for_termination()


def call(target, authority, ca=None):
    options = [("grpc.default_authority", authority)]
    if ca:
        with open(ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        options.append(("grpc.ssl_target_name_override", authority))
        channel = grpc.secure_channel(target, creds, options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    out = {}
    timeout = 10
    path = "/" + SERVICE + "/"

    unary = channel.unary_unary(path + "Unary")
    reply, c = unary.with_call(b"hello", timeout=timeout)
    out["unary"] = reply.decode()
    out["unary_trailer"] = dict(c.trailing_metadata()).get("x-trailer", "")
    out["unary_code"] = c.code().name

    stream = channel.unary_stream(path + "ServerStream")(b"s", timeout=timeout)
    out["server_stream"] = [m.decode() for m in stream]
    out["server_stream_trailer"] = dict(stream.trailing_metadata()).get("x-trailer", "")

    client_stream = channel.stream_unary(path + "ClientStream")
    out["client_stream"] = client_stream(iter([b"a", b"b", b"c"]), timeout=timeout).decode()

    # Bidi: each message is sent only after the previous answer came back, so the exchange
    # deadlocks unless both directions stream at once through the proxy.
    import queue
    q = queue.Queue()
    q.put(b"0")

    def requests():
        for i in range(4):
            item = q.get(timeout=timeout)
            yield item

    answers = []
    for m in channel.stream_stream(path + "Bidi")(requests(), timeout=timeout):
        answers.append(m.decode())
        q.put(str(len(answers)).encode())
        if len(answers) == 4:
            break
    out["bidi"] = answers

    try:
        channel.unary_unary(path + "Fail")(b"x", timeout=timeout)
        out["fail"] = "no error"
    except grpc.RpcError as e:
        out["fail"] = e.code().name + ": " + e.details()

    out["meta"] = json.loads(channel.unary_unary(path + "Meta")(b"", timeout=timeout).decode())

    # A large message both ways (flow control: more than the initial windows).
    big = b"x" * (3 * 1024 * 1024)
    out["big"] = len(unary(big, timeout=timeout))
    print(json.dumps(out, sort_keys=True), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:])
    else:
        call(*sys.argv[2:])
