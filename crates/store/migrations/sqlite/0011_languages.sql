-- The language a person reads Limen in, when they chose one (NULL: none
-- chosen, so their browser's and then their organisation's), and the
-- organisation's default language.
ALTER TABLE people ADD COLUMN language TEXT;
ALTER TABLE organisations ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
