"""The one tiny model shape the tests build (keras-hub's tiny-config habit): 2 layers of width
32 over E=16, 2 heads. Tests override what they are about (groups, heads, lengths)."""
import albert_nb as an

TINY = dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64)


def tiny_config(vocab_size: int, **changes) -> an.AlbertConfig:
    return an.AlbertConfig(vocab_size=vocab_size, **{**TINY, **changes})
