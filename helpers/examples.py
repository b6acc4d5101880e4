"""The course's example texts, defined once for the notebooks and the tests."""

#: The seed lesson's query and documents (notebook 01 writes them out, as the seed does).
SEED_QUERY = "What is Qdrant?"
SEED_DOCUMENTS = [
    "Qdrant is an AI-native vector database and a semantic search engine",
    "Relational databases are not well-suited for search",
]

#: Lesson 03: one query, four documents, from relevant to irrelevant.
POOL_QUERY = "How do I prevent connection pool exhaustion in an async Python web app?"
POOL_DOCUMENTS = {
    "relevant": (
        "To prevent connection pool exhaustion in an async Python web app, always release "
        "connections with `async with pool.acquire()`, cap concurrent database queries with an "
        "asyncio.Semaphore, and set an acquire timeout so a stuck request gives its connection back."
    ),
    "partly relevant": (
        "Async Python web frameworks such as FastAPI and aiohttp keep many requests in flight at "
        "once; a database connection pool lends each request a connection."
    ),
    "keyword-stuffed": (
        "Async Python! Web app! Connection pool! Read our top 10 Python web app frameworks of the "
        "year, async or not, and learn Python fast with our pool of tutorials."
    ),
    "irrelevant": (
        "Ball pythons are docile snakes. To train a young python to be handled, keep sessions "
        "short and never handle it right after a meal."
    ),
}
