"""python -m pipelines.dev.generate --out DIR [...]: see pipelines.dev.generate.cli."""

from pipelines.dev.generate.cli import main

if __name__ == "__main__":
    main()
