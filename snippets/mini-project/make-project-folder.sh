mkdir docker-architecture
cd docker-architecture
