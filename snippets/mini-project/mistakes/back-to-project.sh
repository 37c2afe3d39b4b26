cd ../docker-architecture
