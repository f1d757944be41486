"""The broker transport: kombu's Redis transport with one Redis client per channel, over real Redis."""

from config.celery import app


def test_publishes_go_through_one_client_per_channel_and_arrive():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        queue = "test-broker-transport"
        channel.queue_declare(queue=queue, auto_delete=True)
        try:
            clients = set()
            for n in range(3):
                with channel.conn_or_acquire() as client:
                    clients.add(id(client))
                channel.basic_publish(channel.prepare_message(f"m{n}"), exchange="", routing_key=queue)

            assert len(clients) == 1
            assert [channel.basic_get(queue, no_ack=True).body for _ in range(3)] == [b"m0", b"m1", b"m2"]
        finally:
            channel.queue_purge(queue)
            channel.queue_delete(queue)


def test_a_new_pool_gets_a_new_client():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as before:
            pass
        channel._pool = None  # as after a reconnect

        with channel.conn_or_acquire() as after:
            assert after is not before
            assert after.connection_pool is channel.pool
            assert after.ping()
