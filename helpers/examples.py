"""The course's example texts, defined once for the notebooks and the tests."""

#: The seed lesson's query and documents (notebook 01 writes them out, as the seed does).
SEED_QUERY = "What is Qdrant?"
SEED_DOCUMENTS = [
    "Qdrant is an AI-native vector database and a semantic search engine",
    "Relational databases are not well-suited for search",
]

#: Lesson 03, the course's own texts ("Use cases for multi-vector search"): one query, four
#: documents (A relevant, B partly relevant, C keyword-stuffed, D about snakes).
POOL_QUERY = "How can I prevent Python database connection pool exhaustion in async web applications?"
POOL_DOCUMENTS = {
    "A relevant": (
        "When async tasks fail to return database connections, the pool becomes exhausted and "
        "requests start failing. Ensuring connections are closed after awaits prevents this."
    ),
    "B partly relevant": "Database resource exhaustion can occur due to limited pool sizes.",
    "C keyword-stuffed": "Understanding concurrency, async IO, and database performance in Python web applications.",
    "D irrelevant": (
        "Handling training for pythons should be done gradually, starting with short sessions and "
        "increasing duration as the snake becomes more comfortable."
    ),
}
