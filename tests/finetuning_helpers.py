"""Shared set-up of the fine-tuning tests (built once per test session): a SentencePiece model
trained on real English text (CPython's documentation, via albert_nb.corpora.loaders), a tiny ALBERT
config, and a Google-layout (TF1) checkpoint of a tiny pretraining model to start from."""
import functools
import os
import tempfile
from configs import tiny_config

MAX_POSITIONS = 128


@functools.lru_cache(maxsize=None)
def model_files() -> dict:
    import albert_nb as an
    from albert_nb.interop import checkpoints
    from albert_nb.corpora import loaders as corpora
    from albert_nb.tokenizers import vocab_training
    from albert_nb.tokenizers.tokenization import FullTokenizer

    directory = tempfile.mkdtemp(prefix="albert_nb_finetuning_test_")
    sentences = [s for doc in corpora.python_docs() for s in doc]
    spm = vocab_training.train_sentencepiece(sentences, os.path.join(directory, "30k-clean"),
                                             vocab_size=600, hard_vocab_limit=False)
    tokenizer = FullTokenizer(spm_model_file=spm)
    config = tiny_config(tokenizer.vocab_size, max_position_embeddings=MAX_POSITIONS)
    config_file = os.path.join(directory, "albert_config.json")
    config.to_json_file(config_file)
    pretrained = an.AlbertForPretraining(config)
    prefix = checkpoints.save_tf1_checkpoint(pretrained, os.path.join(directory, "model.ckpt-best"),
                                             global_step=0)
    return {"dir": directory, "spm": spm, "vocab": os.path.join(directory, "30k-clean.vocab"),
            "config": config_file, "init_checkpoint": prefix,
            "word_embeddings": pretrained.albert.word_embeddings.numpy().copy(),
            "sentences": sentences}


def write_sst2(directory, rows_train, rows_dev, rows_test) -> str:
    """An SST-2 folder (official layout) from (sentence, label) rows; returns the data_dir."""
    folder = os.path.join(directory, "SST-2")
    os.makedirs(folder, exist_ok=True)
    for name, rows in (("train", rows_train), ("dev", rows_dev)):
        with open(os.path.join(folder, f"{name}.tsv"), "w", encoding="utf-8") as handle:
            handle.write("sentence\tlabel\n")
            handle.writelines(f"{text}\t{label}\n" for text, label in rows)
    with open(os.path.join(folder, "test.tsv"), "w", encoding="utf-8") as handle:
        handle.write("index\tsentence\n")
        handle.writelines(f"{i}\t{text}\n" for i, (text, _) in enumerate(rows_test))
    return directory
