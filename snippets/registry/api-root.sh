curl --silent --include http://localhost:5000/v2/
