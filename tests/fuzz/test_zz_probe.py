import json
import httpx
from tests.fuzz.test_graphql_fuzz import World, Keeper, world  # noqa
from tests.fuzz.state_digest import connect, state_digest, wait_until_idle, changed_tables


def post(http, doc, token=None):
    h = {"authorization": f"Bearer {token}"} if token else {}
    r = http.post("/graphql", json={"query": doc}, headers=h)
    return r.status_code, r.json()


def test_probe(world: World, server, settings):
    with connect(settings.database_url) as db, httpx.Client(base_url=server, timeout=30) as http:
        k = Keeper(world, http, db)
        k.restore()
        u, a = world.user.token, world.admin.token
        oid = db.execute("select id from orders where user_id::text=%s and status='NEW' limit 1", (world.user.user_id,)).fetchone()[0]
        cases = [
            ("cancelReplace invalid price", u, 'mutation { cancelReplaceOrder(input: {cancel: {orderId: "%s"}, order: {market: "%s", side: BUY, type: LIMIT, price: "abc", quantity: "1"}}) { __typename ... on Error { code message } } }' % (oid, world.market.symbol)),
            ("cancel ²", u, 'mutation { cancelOrder(input: {orderId: "²"}) { __typename } }'),
            ("amend ²", u, 'mutation { amendOrder(input: {orderId: "²", quantity: "1"}) { __typename } }'),
            ("cancel ١", u, 'mutation { cancelOrder(input: {orderId: "١"}) { __typename ... on Order {id} } }'),
            ("cancel 9*30", u, 'mutation { cancelOrder(input: {orderId: "%s"}) { __typename } }' % ("9"*30)),
            ("amend 9*30", u, 'mutation { amendOrder(input: {orderId: "%s", quantity: "1"}) { __typename } }' % ("9"*30)),
            ("adjust bad uuid", a, 'mutation { adminAdjustBalance(input: {userId: "²", asset: "%s", amount: "1", reason: "abcd", idempotencyKey: "k1"}) { __typename ... on Error {message} } }' % world.market.base),
        ]
        for name, token, doc in cases:
            wait_until_idle(db)
            before = state_digest(db)
            st, body = post(http, doc, token)
            wait_until_idle(db)
            after = state_digest(db)
            print("\n###", name, st, json.dumps(body)[:400], "CHANGED:", changed_tables(before, after))
        # NUL across string args
        sym = world.market.symbol
        nul = "\\u0000"
        docs = {
            "markets.symbol": (None, '{ markets(symbol: "%s") { symbol } }' % nul),
            "myOrders.market": (u, '{ myOrders(market: "%s") { edges { cursor } } }' % nul),
            "myOrders.after": (u, '{ myOrders(after: "%s") { edges { cursor } } }' % nul),
            "myTrades.market": (u, '{ myTrades(market: "%s") { edges { cursor } } }' % nul),
            "myTrades.after": (u, '{ myTrades(after: "%s") { edges { cursor } } }' % nul),
            "me.ledgerEntries.after": (u, '{ me { ledgerEntries(after: "%s") { edges { cursor } } } }' % nul),
            "adminUsers.after": (a, '{ adminUsers(after: "%s") { edges { cursor } } }' % nul),
            "register.email": (None, 'mutation { register(input: {email: "a%s@example.com", password: "longpassword1"}) { __typename } }' % nul),
            "register.password": (None, 'mutation { register(input: {email: "nul-pw@example.com", password: "longpass%sword1"}) { __typename } }' % nul),
            "login.email": (None, 'mutation { login(input: {email: "a%s@example.com", password: "longpassword1"}) { __typename } }' % nul),
            "login.password": (None, 'mutation { login(input: {email: "%s", password: "x%s"}) { __typename } }' % (world.user.email, nul)),
            "placeOrder.market": (u, 'mutation { placeOrder(input: {market: "%s", side: BUY, type: LIMIT, price: "95", quantity: "1"}) { __typename } }' % nul),
            "placeOrder.clientOrderId": (u, 'mutation { placeOrder(input: {market: "%s", side: BUY, type: LIMIT, price: "95", quantity: "1", clientOrderId: "a%sb"}) { __typename } }' % (sym, nul)),
            "placeOcoOrder.market": (u, 'mutation { placeOcoOrder(input: {market: "%s", side: BUY, quantity: "1", price: "95", stopPrice: "120"}) { __typename } }' % nul),
            "placeOcoOrder.clientOrderId": (u, 'mutation { placeOcoOrder(input: {market: "%s", side: BUY, quantity: "1", price: "95", stopPrice: "120", clientOrderId: "a%s"}) { __typename } }' % (sym, nul)),
            "cancelOrder.clientOrderId": (u, 'mutation { cancelOrder(input: {clientOrderId: "a%s"}) { __typename } }' % nul),
            "cancelOrder.orderId": (u, 'mutation { cancelOrder(input: {orderId: "1%s"}) { __typename } }' % nul),
            "cancelAllOrders.market": (u, 'mutation { cancelAllOrders(market: "%s") { __typename } }' % nul),
            "amendOrder.orderId": (u, 'mutation { amendOrder(input: {orderId: "1%s", quantity: "1"}) { __typename } }' % nul),
            "adminCreateAsset.code": (a, 'mutation { adminCreateAsset(input: {code: "AB%s", precision: 2}) { __typename } }' % nul),
            "adminCreateMarket.symbol": (a, 'mutation { adminCreateMarket(input: {symbol: "A%s", base: "%s", quote: "%s", tickSize: "0.01", stepSize: "0.001", minQuantity: "0.001", maxQuantity: "10"}) { __typename } }' % (nul, world.market.base, world.market.quote)),
            "adminCreateMarket.base": (a, 'mutation { adminCreateMarket(input: {symbol: "X-Y", base: "A%s", quote: "%s", tickSize: "0.01", stepSize: "0.001", minQuantity: "0.001", maxQuantity: "10"}) { __typename } }' % (nul, world.market.quote)),
            "adminUpdateMarket.symbol": (a, 'mutation { adminUpdateMarket(input: {symbol: "A%s"}) { __typename } }' % nul),
            "adminUpdateMarket.reason": (a, 'mutation { adminUpdateMarket(input: {symbol: "%s", reason: "r%s", makerFee: "0.001"}) { __typename } }' % (sym, nul)),
            "adminAdjustBalance.userId": (a, 'mutation { adminAdjustBalance(input: {userId: "a%s", asset: "%s", amount: "1", reason: "abcd", idempotencyKey: "k2"}) { __typename } }' % (nul, world.market.base)),
            "adminAdjustBalance.asset": (a, 'mutation { adminAdjustBalance(input: {userId: "%s", asset: "A%s", amount: "1", reason: "abcd", idempotencyKey: "k3"}) { __typename } }' % (world.user.user_id, nul)),
            "adminAdjustBalance.reason": (a, 'mutation { adminAdjustBalance(input: {userId: "%s", asset: "%s", amount: "1", reason: "abc%sd", idempotencyKey: "k4"}) { __typename } }' % (world.user.user_id, world.market.base, nul)),
            "adminAdjustBalance.idempotencyKey": (a, 'mutation { adminAdjustBalance(input: {userId: "%s", asset: "%s", amount: "1", reason: "abcd", idempotencyKey: "k%s"}) { __typename } }' % (world.user.user_id, world.market.base, nul)),
        }
        for name, (token, doc) in docs.items():
            wait_until_idle(db)
            st, body = post(http, doc, token)
            codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
            print("NUL", name, st, codes, json.dumps(body.get("data"))[:150])
